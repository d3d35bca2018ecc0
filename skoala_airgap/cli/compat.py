"""charts-syncer's command line, where it differs from click's: the flags its users type.

- ``-g/--generate-config FILE`` (global, and on ``sync``): write a commented default load-image.yaml and
  exit (``config.template``; charts-syncer's ``-g`` names the manifest its ``generate`` command reads,
  which builds configs for online repositories: see docs/config.md);
- ``sync`` flags that only make sense for online repository sources are accepted where harmless
  (``--skip-dependencies``: bundles never sync dependencies, charts-syncer forces it off too;
  ``--workdir``: no chart cache is kept) and refused in one line where they would silently change the
  result (``--from-date``: bundles carry no date, so charts-syncer would sync nothing).

Boolean flags in Go's forms (``--insecure true``, ``--dry-run=false``) are handled once for every
command in :func:`skoala_airgap.cli.main.normalise_bool_flags`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from skoala_airgap.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])


def _generate(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from skoala_airgap.config.template import DEFAULT_SETTINGS, GENERATED_TITLE, write_config

    if value.exists():
        raise InputError(f"{value}: already exists; --generate-config never overwrites (remove it or name another)")
    written = write_config(DEFAULT_SETTINGS, value, title=GENERATED_TITLE)
    click.echo(f"wrote {written}: edit the registry, chart repository and bundle path, then run sync --config")
    ctx.exit(0)


def generate_config_option(func: F) -> F:
    """``-g/--generate-config FILE``: write a commented default load-image.yaml and exit."""
    return click.option(
        "-g",
        "--generate-config",
        type=click.Path(path_type=Path, dir_okay=False),
        expose_value=False,
        is_eager=True,
        callback=_generate,
        help="Write a commented default load-image.yaml to FILE and exit (never overwrites).",
    )(func)


def repo_source_options(func: F) -> F:
    """charts-syncer ``sync`` flags for online repository sources: accepted or refused, never unknown."""
    for decorator in (
        click.option(
            "--skip-dependencies",
            is_flag=True,
            help="charts-syncer compatibility: accepted; bundles never sync chart dependencies.",
        ),
        click.option(
            "--workdir",
            metavar="DIR",
            help="charts-syncer compatibility: accepted and ignored (no chart cache is kept).",
        ),
        click.option(
            "--from-date",
            metavar="YYYY-MM-DD",
            help="charts-syncer compatibility: refused; bundles carry no publish date (use charts[].versions).",
        ),
    ):
        func = decorator(func)
    return func


def refuse_repo_source_options(opts: dict[str, Any]) -> None:
    if opts.get("from_date"):
        raise InputError(
            f"--from-date {opts['from_date']}: bundles carry no publish date (charts-syncer would sync nothing); "
            "select versions with charts[].versions in the config instead"
        )
