"""Option groups every command that names or reaches targets shares, with one meaning everywhere.

- :func:`rule_options`: charts-syncer's rewrite rules as flags, or ``--config load-image.yaml``;
- :func:`connection_options`: TLS, credentials, timeouts (the one connection layer's settings);
- :func:`output_options`: ``-q``, ``--json``, ``--report FILE``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from skoala_airgap.connection.settings import ConnectionSettings, Login, RetryPolicy, Timeouts
from skoala_airgap.errors import InputError
from skoala_airgap.relocation.rules import RewriteRules

F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(path_type=Path, exists=True, dir_okay=False)


def _apply(func: F, decorators: list[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def rule_options(func: F) -> F:
    """charts-syncer's rewrite rules (the load-image.yaml ``target`` keys), or a config that holds them."""
    return _apply(
        func,
        [
            click.option(
                "--registry", default="", help="Replace each image's registry with HOST[:PORT] (containerRegistry)."
            ),
            click.option(
                "--prefix-registry",
                default="",
                help="Put HOST[:PORT] in front, keeping the origin registry in the path (containerPrefixRegistry).",
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
            click.option(
                "-c",
                "--config",
                "config_path",
                type=click.Path(path_type=Path),
                help="load-image.yaml: its rules, credentials and bundles (flags win over its rules).",
            ),
            click.option(
                "--receipt",
                type=click.Path(path_type=Path, dir_okay=False),
                help="Site receipt to write or read [next to --config, else ./<package>.receipt.json].",
            ),
        ],
    )


def connection_options(func: F) -> F:
    """Credentials, TLS, scheme and timeouts: the settings of the one connection layer."""
    return _apply(
        func,
        [
            click.option(
                "--username", envvar="TARGET_CONTAINERS_AUTH_USERNAME", default="", help="Registry user name."
            ),
            click.option(
                "--password-stdin",
                is_flag=True,
                help="Read the registry password from standard input (else TARGET_CONTAINERS_AUTH_PASSWORD).",
            ),
            click.option(
                "--authfile",
                type=click.Path(path_type=Path, dir_okay=False),
                help="containers auth.json with registry logins (like podman/skopeo; else REGISTRY_AUTH_FILE).",
            ),
            click.option("--ca-file", type=_FILE, help="Trust this CA (PEM) besides the system's and certs.d."),
            click.option("--cert", type=_FILE, help="Client certificate (PEM), with --key."),
            click.option("--key", type=_FILE, help="Client certificate key (PEM), with --cert."),
            click.option(
                "--cert-dir",
                type=click.Path(path_type=Path, exists=True, file_okay=False),
                help="Folder with *.crt CAs and *.cert/*.key client files (skopeo --cert-dir).",
            ),
            click.option(
                "--insecure",
                is_flag=True,
                help="Do not verify TLS certificates, and allow plain HTTP (charts-syncer --insecure; also "
                "--insecure true).",
            ),
            click.option("--plain-http", is_flag=True, help="Talk plain HTTP to the registry, without trying HTTPS."),
            click.option("--connect-timeout", type=click.FloatRange(min=0.1), help="Seconds to connect [10]."),
            click.option("--read-timeout", type=click.FloatRange(min=0.1), help="Seconds without progress [60]."),
            click.option("--retries", type=click.IntRange(0, 20), help="Retries of a temporary failure [5]."),
        ],
    )


def json_options(func: F) -> F:
    """``--json`` (the report on stdout instead of text) and ``--report FILE`` (the same JSON into FILE,
    while the text still goes to the terminal). Every command has both."""
    return _apply(
        func,
        [
            click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout instead of text."),
            click.option(
                "--report",
                "report_file",
                type=click.Path(path_type=Path, dir_okay=False),
                help="Also write the JSON report to this file (the text still goes to the terminal).",
            ),
        ],
    )


def output_options(func: F) -> F:
    """``-q`` plus :func:`json_options`: the output options of every command that shows progress."""
    return _apply(
        func,
        [
            click.option("-q", "--quiet", is_flag=True, help="Only failures and retries on stderr; no progress."),
            json_options,
        ],
    )


def rules_from(opts: dict[str, Any]) -> RewriteRules:
    """The rewrite rules given as flags (empty when none is given)."""
    for name in ("registry", "prefix_registry"):
        value = opts.get(name) or ""
        if "://" in value:
            flag = "--" + name.replace("_", "-")
            plain = "; use --plain-http for HTTP" if "plain_http" in opts else ""  # only where the option exists
            raise InputError(f'{flag} "{value}": give a bare host[:port] (no scheme){plain}')
    return RewriteRules(
        registry=opts.get("registry") or "",
        prefix_registry=opts.get("prefix_registry") or "",
        repository=opts.get("repository") or "",
        prefix_repository=opts.get("prefix_repository") or "",
        append_origin_registry=bool(opts.get("append_origin_registry")),
    )


def read_password(password_stdin: bool) -> str:
    """The password from stdin (--password-stdin) or TARGET_CONTAINERS_AUTH_PASSWORD; never a flag value,
    so it does not end up in shell history or ``ps`` output."""
    if password_stdin:
        return str(sys.stdin.readline()).rstrip("\r\n")
    return os.environ.get("TARGET_CONTAINERS_AUTH_PASSWORD", "")


def _username_source() -> str:
    """Where --username came from, for messages about refused credentials: the flag or its variable."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.get_parameter_source("username") is click.core.ParameterSource.ENVIRONMENT:
        return "TARGET_CONTAINERS_AUTH_USERNAME"
    return "--username"


def connection_from(opts: dict[str, Any], *, logins: tuple[Login, ...] = ()) -> ConnectionSettings:
    """The connection settings of these options, environment overrides applied."""
    given: list[Login] = []
    username = opts.get("username") or ""
    password = read_password(bool(opts.get("password_stdin"))) if username or opts.get("password_stdin") else ""
    if opts.get("password_stdin") and not username:
        raise InputError("--password-stdin needs --username (or TARGET_CONTAINERS_AUTH_USERNAME)")
    if username and password:
        password_from = "--password-stdin" if opts.get("password_stdin") else "TARGET_CONTAINERS_AUTH_PASSWORD"
        given.append(Login(username, password, f"{_username_source()} and {password_from}"))
    base = ConnectionSettings.from_environment()
    timeouts = Timeouts(
        connect=opts.get("connect_timeout") or base.timeouts.connect,
        read=opts.get("read_timeout") or base.timeouts.read,
    )
    retry = RetryPolicy(retries=opts["retries"]) if opts.get("retries") is not None else base.retry
    return ConnectionSettings(
        insecure=bool(opts.get("insecure")),
        plain_http=bool(opts.get("plain_http")),
        ca_file=opts.get("ca_file"),
        client_cert=opts.get("cert"),
        client_key=opts.get("key"),
        cert_dir=opts.get("cert_dir"),
        certs_d=base.certs_d,
        logins=(*given, *logins),
        authfile=opts.get("authfile"),
        timeouts=timeouts,
        retry=retry,
        environ=base.environ,
    )
