"""``skoala-airgap completion bash|zsh|fish`` and ``skoala-airgap version``."""

from __future__ import annotations

from pathlib import Path

import click

from skoala_airgap import __version__
from skoala_airgap.cli.options import json_options
from skoala_airgap.cli.render import finish

_SHELLS = ("bash", "zsh", "fish")
PROG = "skoala-airgap"
COMPLETE_VAR = "_SKOALA_AIRGAP_COMPLETE"  # what the script sets when it asks the program for words


@click.command("completion", short_help="Print the shell completion script (bash, zsh, fish).")
@click.argument("shell", type=click.Choice(_SHELLS))
@json_options
def completion_command(shell: str, as_json: bool, report_file: Path | None) -> None:
    """Print the shell completion script for SHELL: commands, options and their choices complete on TAB.

    Load it in the current shell, or install it for every new one:

    \b
      bash: eval "$(skoala-airgap completion bash)"   (or > /etc/bash_completion.d/skoala-airgap)
      zsh:  skoala-airgap completion zsh > "${fpath[1]}/_skoala-airgap"   (then restart zsh)
      fish: skoala-airgap completion fish > ~/.config/fish/completions/skoala-airgap.fish

    Example: eval "$(skoala-airgap completion bash)"
    """
    from click.shell_completion import get_completion_class

    from skoala_airgap.cli.main import cli

    completion = get_completion_class(shell)
    assert completion is not None
    script = completion(cli, {}, PROG, COMPLETE_VAR).source()
    report = {
        "ok": True,
        "shell": shell,
        "script": script,
        "warnings": [],
        "summary": {"shell": shell, "lines": len(script.splitlines())},
    }
    finish(report, as_json=as_json, report_file=report_file, human=lambda: click.echo(script))


@click.command("version", short_help="Print the version.")
@json_options
def version_command(as_json: bool, report_file: Path | None) -> None:
    """Print the version (charts-syncer's `version` command).

    Example: skoala-airgap version --json
    """
    report = {"ok": True, "version": __version__, "warnings": [], "summary": {"version": __version__}}
    finish(report, as_json=as_json, report_file=report_file, human=lambda: click.echo(f"{PROG} {__version__}"))
