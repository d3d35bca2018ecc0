"""The ``skoala-airgap`` command group and the one place that turns errors into exit codes.

Errors become a single line on stderr (``skoala-airgap: error: <file>: <member>: <reason>``) and the
exit code of :func:`skoala_airgap.errors.exit_code_for`; ``--debug`` adds the traceback, never changes
the code. SIGINT and SIGTERM stop the run within a moment: workers see :data:`skoala_airgap.interrupt.STOP`,
upload sessions stay in the journal for a rerun, and one line says so. Commands live in their own modules
and are imported lazily, so ``skoala-airgap --help`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import traceback
from types import FrameType
from typing import Any, NoReturn

import click

from skoala_airgap import __version__, interrupt
from skoala_airgap.cli.compat import generate_config_option
from skoala_airgap.errors import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED, AirgapError, exit_code_for

# command name -> (module, attribute); loaded on first use.
_COMMANDS = {
    "inspect": ("skoala_airgap.cli.inspect_cmd", "inspect_command"),
    "unpack": ("skoala_airgap.cli.unpack_cmd", "unpack_command"),
    "push-images": ("skoala_airgap.cli.push_cmd", "push_images_command"),
    "load": ("skoala_airgap.cli.load_cmd", "load_command"),
    "sync": ("skoala_airgap.cli.sync_cmd", "sync_command"),
    "verify": ("skoala_airgap.cli.verify_cmd", "verify_command"),
    "values": ("skoala_airgap.cli.values_cmd", "values_command"),
    "helm-command": ("skoala_airgap.cli.helm_cmd", "helm_command"),
    "config": ("skoala_airgap.cli.config_cmd", "config_group"),
    "doctor": ("skoala_airgap.cli.doctor_cmd", "doctor_command"),
    "completion": ("skoala_airgap.cli.completion_cmd", "completion_command"),
    "version": ("skoala_airgap.cli.completion_cmd", "version_command"),
}
_TRUE, _FALSE = frozenset({"true", "yes", "1"}), frozenset({"false", "no", "0"})


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module_name, attr = _COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="skoala-airgap")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs (exit codes stay the same).")
@generate_config_option
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Move vendor offline packages into air-gapped registries, chart repositories and runtimes.

    Start with `skoala-airgap inspect PACKAGE`; see `skoala-airgap COMMAND --help` for examples.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format="skoala-airgap: %(levelname)s: %(message)s"
    )


def _flag_names(args: list[str]) -> set[str]:
    """Boolean flags of the command ``args`` names (``--insecure``, ``--dry-run``, ...)."""
    names = [a for a in args if not a.startswith("-")]
    command: click.Command | None = cli
    ctx = click.Context(cli)
    for name in names[:2]:
        if not isinstance(command, click.Group):
            break
        command = command.get_command(ctx, name)
        if command is None:
            return set()
    if command is None or isinstance(command, click.Group):
        return set()
    return {opt for p in command.params if isinstance(p, click.Option) and p.is_flag for opt in p.opts}


def normalise_bool_flags(args: list[str]) -> list[str]:
    """Accept charts-syncer's (Go pflag) forms of boolean flags: ``--insecure true``, ``--insecure=false``.

    ``true`` keeps the flag, ``false`` drops it (every such flag defaults to off).
    """
    flags = _flag_names(args)
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if name in flags and eq:
            if value.lower() not in _TRUE | _FALSE:
                raise click.BadParameter(f"{value!r} is not true or false", param_hint=name)
            out += [name] if value.lower() in _TRUE else []
        elif arg in flags and i + 1 < len(args) and args[i + 1].lower() in _TRUE | _FALSE:
            out += [arg] if args[i + 1].lower() in _TRUE else []
            i += 1
        else:
            out.append(arg)
        i += 1
    return out


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated()


class _Terminated(Exception):
    """SIGTERM, raised in the main thread by the handler."""


def _stop(code: int, why: str) -> NoReturn:
    """Stop now: workers are told to stop, the journal is already consistent; threads are not waited for."""
    interrupt.STOP.set()
    click.echo(f"skoala-airgap: {why}: stopped; upload sessions are kept, a rerun resumes", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _click_message(exc: click.ClickException) -> str:
    """A usage error in one line, with where to read more (click's own form takes four)."""
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: run the group, map errors to one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return cli.main(args=normalise_bool_flags(args), prog_name="skoala-airgap", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"skoala-airgap: error: {_one_line(_click_message(exc))}", err=True)
        sys.exit(EXIT_INPUT if exc.exit_code == 2 else exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _stop(EXIT_INTERRUPTED, "interrupted (SIGINT)")
    except _Terminated:
        _stop(EXIT_TERMINATED, "terminated (SIGTERM)")
    except (AirgapError, OSError) as exc:
        interrupt.STOP.set()  # workers still running stop at their next request instead of finishing
        if debug:
            traceback.print_exc()
        if isinstance(exc, OSError) and not isinstance(exc, AirgapError):
            where = f"{exc.filename}: " if exc.filename else ""
            message = f"{where}{exc.strerror or exc}"
        else:
            message = str(exc)
        click.echo(f"skoala-airgap: error: {_one_line(message)}", err=True)
        sys.exit(exit_code_for(exc))
    except Exception as exc:  # a bug of ours: still one line and the mapped code; --debug shows where
        interrupt.STOP.set()
        if debug:
            traceback.print_exc()
        detail = _one_line(f"{type(exc).__name__}: {exc}")
        click.echo(f"skoala-airgap: error: internal error: {detail} (rerun with --debug for the traceback)", err=True)
        sys.exit(exit_code_for(exc))
