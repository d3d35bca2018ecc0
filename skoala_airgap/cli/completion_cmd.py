"""``skoala-airgap completion bash|zsh|fish`` and ``skoala-airgap version``."""

from __future__ import annotations

import click

from skoala_airgap import __version__

_SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(_SHELLS))
def completion_command(shell: str) -> None:
    """Print the shell completion script for SHELL.

    Example (bash): skoala-airgap completion bash > /etc/bash_completion.d/skoala-airgap
    Example (zsh):  skoala-airgap completion zsh > "${fpath[1]}/_skoala-airgap"
    """
    from click.shell_completion import get_completion_class

    from skoala_airgap.cli.main import cli

    completion = get_completion_class(shell)
    assert completion is not None
    script = completion(cli, {}, "skoala-airgap", "_SKOALA_AIRGAP_COMPLETE").source()
    click.echo(script)


@click.command("version")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def version_command(as_json: bool) -> None:
    """Print the version (charts-syncer's `version` command)."""
    if as_json:
        from skoala_airgap.cli.render import emit_json

        emit_json({"ok": True, "version": __version__})
        return
    click.echo(f"skoala-airgap {__version__}")
