"""Option groups shared by commands that talk to registries (push-images, sync, load)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from skoala_airgap.relocation.rules import RewriteRules

if TYPE_CHECKING:
    from skoala_airgap.sources.open import Source

F = TypeVar("F", bound=Callable[..., Any])


def relocation_options(func: F) -> F:
    """charts-syncer's rewrite rules, as flags (the load-image.yaml ``target`` keys)."""
    for decorator in reversed(
        [
            click.option("--registry", default="", help="Target registry host[:port] (containerRegistry)."),
            click.option(
                "--prefix-registry",
                default="",
                help="Prefix registry: origin host kept in the path (containerPrefixRegistry).",
            ),
            click.option(
                "--repository", default="", help="Flatten every image under this repository (containerRepository)."
            ),
            click.option(
                "--prefix-repository",
                default="",
                help="Put this in front of each repository (containerPrefixRepository).",
            ),
            click.option(
                "--append-origin-registry",
                is_flag=True,
                help="With --prefix-registry: keep the origin registry in the registry value (appendOriginRegistry).",
            ),
        ]
    ):
        func = decorator(func)
    return func


def rules_from_options(opts: dict[str, Any]) -> RewriteRules:
    """The rewrite rules given by :func:`relocation_options` flags."""
    return RewriteRules(
        registry=opts["registry"],
        prefix_registry=opts["prefix_registry"],
        repository=opts["repository"],
        prefix_repository=opts["prefix_repository"],
        append_origin_registry=opts["append_origin_registry"],
    )


def open_source_warning(path: Path) -> Source:
    """Open a source and print its warnings (skipped strays, version mismatches)."""
    from skoala_airgap.cli.render import warn
    from skoala_airgap.sources.open import open_source

    source = open_source(path)
    for message in source.warnings:
        warn(message)
    return source


def registry_connection_options(func: F) -> F:
    """Credentials, TLS and transport flags."""
    for decorator in reversed(
        [
            click.option(
                "--username", envvar="TARGET_CONTAINERS_AUTH_USERNAME", default="", help="Registry user name."
            ),
            click.option("--password-stdin", is_flag=True, help="Read the registry password from standard input."),
            click.option(
                "--ca-file", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Trust this CA."
            ),
            click.option("--cert", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Client cert."),
            click.option("--key", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Client key."),
            click.option("--insecure", is_flag=True, help="Use TLS without verifying the certificate."),
            click.option("--plain-http", is_flag=True, help="Talk plain HTTP to the registry."),
        ]
    ):
        func = decorator(func)
    return func


def read_password(password_stdin: bool, environ_value: str) -> str:
    """The password from stdin (--password-stdin) or TARGET_CONTAINERS_AUTH_PASSWORD; never a flag value,
    so it does not end up in shell history or ``ps`` output."""
    if password_stdin:
        line = str(sys.stdin.readline())
        return line.rstrip("\r\n")
    return environ_value
