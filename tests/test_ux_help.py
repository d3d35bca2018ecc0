"""Help and shell completion (issue 12): every --help has an example and untruncated listings, every
option says what it does, and ``skoala-airgap completion bash|zsh|fish`` prints a script that works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from skoala_airgap.cli.main import cli
from tests.helpers import run_cli

BIN = Path(sys.executable).parent  # the venv's bin, where the skoala-airgap console script is


def _commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    out: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            out[" ".join([*prefix, name])] = command
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])

    walk(cli, [])
    return out


COMMANDS = _commands()


def _help(*path: str) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_help_has_an_example_and_every_option_a_text(name: str) -> None:
    text = _help(*name.split())
    assert "Example" in text and "skoala-airgap " in text.split("Example", 1)[1], text
    command = COMMANDS[name]
    silent = [p.opts for p in command.params if isinstance(p, click.Option) and not p.help]
    assert not silent, f"{name}: options without help: {silent}"


@pytest.mark.parametrize("group", ["", "config"])
def test_command_listings_are_not_cut(group: str) -> None:
    text = _help(*group.split())
    listing = text.split("Commands:", 1)[1].strip().splitlines()
    names = {n.split()[-1] for n in COMMANDS if n.startswith(group) and len(n.split()) == len(group.split()) + 1}
    assert {line.split()[0] for line in listing if not line.startswith("   ")} == names
    assert not [line for line in listing if line.rstrip().endswith(("...", "…"))], listing


def test_top_level_help_example() -> None:
    assert "skoala-airgap inspect PACKAGE" in _help()


# -- completion -------------------------------------------------------------------------------------------------


def _complete_bash(words: list[str]) -> list[str]:
    """Source the bash script and run its completion function as bash would on TAB."""
    script = run_cli("completion", "bash").stdout
    words_text = " ".join(f"'{w}'" for w in words)
    program = (
        f"{script}\nCOMPREPLY=(); COMP_WORDS=({words_text}); COMP_CWORD={len(words) - 1}\n"
        '_skoala_airgap_completion skoala-airgap; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_bash_script_is_valid_and_completes_commands_and_choices(tmp_path: Path) -> None:
    result = run_cli("completion", "bash")
    assert result.code == 0
    script = tmp_path / "skoala-airgap.bash"
    script.write_text(result.stdout)
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    assert "complete " in result.stdout and "_SKOALA_AIRGAP_COMPLETE" in result.stdout
    top = {n for n in COMMANDS if " " not in n}
    assert set(_complete_bash(["skoala-airgap", ""])) == top
    assert _complete_bash(["skoala-airgap", "pu"]) == ["push-images"]
    assert _complete_bash(["skoala-airgap", "config", ""]) == ["init", "show", "validate"]
    assert _complete_bash(["skoala-airgap", "load", "--runtime", ""]) == ["docker", "podman", "containerd"]
    assert "--prefix-registry" in _complete_bash(["skoala-airgap", "push-images", "--pre"])


@pytest.mark.parametrize(
    ("shell", "marker", "checker"),
    [("zsh", "#compdef skoala-airgap", ["zsh", "-n"]), ("fish", "complete --no-files --command skoala-airgap", None)],
)
def test_zsh_and_fish_scripts(tmp_path: Path, shell: str, marker: str, checker: list[str] | None) -> None:
    result = run_cli("completion", shell)
    assert result.code == 0 and marker in result.stdout and "_SKOALA_AIRGAP_COMPLETE" in result.stdout
    if checker is not None and shutil.which(checker[0]):
        script = tmp_path / f"completion.{shell}"
        script.write_text(result.stdout)
        assert subprocess.run([*checker, str(script)], capture_output=True).returncode == 0
    # what the script asks the program for when TAB is pressed: every command, with its short help
    env = {
        **os.environ,
        "_SKOALA_AIRGAP_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": "skoala-airgap ",
        "COMP_CWORD": "1",
    }
    if shell == "fish":
        env["COMP_CWORD"] = ""
    words = subprocess.run(
        [sys.executable, "-m", "skoala_airgap"], capture_output=True, text=True, env=env, timeout=60
    ).stdout
    for name in (n for n in COMMANDS if " " not in n):
        assert name in words, (name, words)
    assert "Push every image of a package to a registry." in words


def test_unknown_shell_is_refused() -> None:
    result = run_cli("completion", "tcsh")
    assert result.code == 2 and "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr
