"""Shared steps of the commands: options -> inputs -> source -> plan, with warnings said once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from skoala_airgap.cli.options import rules_from
from skoala_airgap.cli.progress import ConsoleProgress
from skoala_airgap.cli.render import warn
from skoala_airgap.errors import InputError
from skoala_airgap.relocation.plan import RelocationPlan, plan_source
from skoala_airgap.sources.open import Source, open_source
from skoala_airgap.sources.package import require_checksum
from skoala_airgap.workflows.inputs import Inputs, resolve_inputs


def inputs_from(
    source: Path | None,
    opts: dict[str, Any],
    *,
    read_receipt: bool = False,
    registry_hint: str = "",
    refuse_other_rules: bool = False,
) -> Inputs:
    inputs = resolve_inputs(
        source,
        rules_from(opts),
        config_path=opts.get("config_path"),
        receipt_path=opts.get("receipt"),
        read_receipt=read_receipt,
        registry_hint=registry_hint,
        refuse_other_rules=refuse_other_rules,
    )
    if inputs.config is not None:
        for message in inputs.config.warnings:
            warn(message)
    return inputs


def open_input_source(inputs: Inputs) -> Source:
    if inputs.source is None:
        raise InputError("no SOURCE: give an offline package, bundle, bundle folder or images.tar (or --config)")
    source = open_source(inputs.source)
    for message in source.warnings:
        warn(message)
    return source


def plan_for(inputs: Inputs, source: Source, *, skip_images: bool = False) -> RelocationPlan:
    """The plan under the resolved rules; with a config its chart filters and skipImages apply too."""
    config = inputs.config
    if config is None:
        return plan_source(source, inputs.rules)
    from skoala_airgap.config.select import chart_selected, skip_images_for  # the config model: only with one

    return plan_source(
        source,
        inputs.rules,
        select=lambda name, version: chart_selected(config, name, version),
        skip_images=lambda name: skip_images_for(config, name, skip_images),
    )


def verify_checksum(source: Source, opts: dict[str, Any], progress: ConsoleProgress) -> None:
    """``--verify``: hash the package against its sha512sum file (reads every byte), with progress."""
    if not opts.get("verify"):
        return
    if source.package is None:
        raise InputError(f"{source.path}: --verify checks an offline package's checksum file; this is a {source.kind}")
    progress.start(source.package.path.stat().st_size, "sha512")
    result = require_checksum(
        source.package, allow_missing=bool(opts.get("allow_missing_checksum")), progress=progress.advance
    )
    if result.status == "absent":
        warn(f"{source.path}: no checksum file; going on without it (--allow-missing-checksum)")


def say(message: str, *, quiet: bool) -> None:
    if not quiet:
        click.echo(f"skoala-airgap: {message}", err=True)
