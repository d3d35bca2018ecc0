"""The ``skoala-airgap`` command group and the one place that turns errors into exit codes.

Errors become a single line on stderr (``skoala-airgap: error: <file>: <member>: <reason>``) and the
exit code of :mod:`skoala_airgap.errors`; ``--debug`` shows the traceback instead. Commands live in
their own modules and are imported lazily, so ``skoala-airgap --help`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from skoala_airgap import __version__
from skoala_airgap.errors import AirgapError

EXIT_INTERRUPTED = 130

# command name -> (module, attribute); loaded on first use.
_COMMANDS = {
    "inspect": ("skoala_airgap.cli.inspect_cmd", "inspect_command"),
    "unpack": ("skoala_airgap.cli.unpack_cmd", "unpack_command"),
    "push-images": ("skoala_airgap.cli.push_cmd", "push_images_command"),
    "load": ("skoala_airgap.cli.load_cmd", "load_command"),
    "sync": ("skoala_airgap.cli.sync_cmd", "sync_command"),
    "values": ("skoala_airgap.cli.values_cmd", "values_command"),
    "helm-command": ("skoala_airgap.cli.helm_cmd", "helm_command"),
    "config": ("skoala_airgap.cli.config_cmd", "config_group"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module_name, attr = _COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="skoala-airgap")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Move vendor offline packages into air-gapped registries, chart repositories and runtimes."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format="skoala-airgap: %(levelname)s: %(message)s"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: run the group, map errors to one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        return cli.main(args=args, prog_name="skoala-airgap", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("skoala-airgap: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        if debug:
            raise
        click.echo("skoala-airgap: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except AirgapError as exc:
        if debug:
            raise
        click.echo(f"skoala-airgap: error: {_one_line(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"skoala-airgap: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
