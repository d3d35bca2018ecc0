"""``skoala-airgap config init|validate|show``: write, check and display ``load-image.yaml`` files.

Passwords come from the environment (``TARGET_REPO_AUTH_PASSWORD``, ``TARGET_CONTAINERS_AUTH_PASSWORD``)
or a hidden prompt, never from a flag (shell history, ``ps``), and are never echoed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from skoala_airgap.cli.options import connection_options, json_options
from skoala_airgap.cli.render import finish, warn
from skoala_airgap.errors import InputError

_KINDS = ("HARBOR", "CHARTMUSEUM", "LOCAL", "OCI")
_RULES = ("prefix-registry", "registry")
_RULE_CHOICES = """Where do the images go on the site registry HOST?
  prefix-registry  HOST/<origin registry>/<repository>:<tag>  (containerPrefixRegistry; the vendor's sample)
  registry         HOST/<repository>:<tag>                    (containerRegistry)"""


@click.group("config", short_help="Write, check and show a load-image.yaml.")
def config_group() -> None:
    """Write (init), check (validate) and display (show) a load-image.yaml.

    Example: skoala-airgap config init  (on a terminal it asks for each value)
    """


def _stdin_is_terminal() -> bool:
    """Whether prompts can be answered (a function so tests can stand in for a terminal)."""
    return sys.stdin.isatty()


def _password(env_name: str, who: str, interactive: bool) -> str:
    value = os.environ.get(env_name, "")
    if value or not interactive:
        return value
    return str(click.prompt(f"Password for {who}", hide_input=True, confirmation_prompt=True))


@config_group.command("init", short_help="Write a commented load-image.yaml (asks on a terminal).")
@click.option("--kind", type=click.Choice(_KINDS, case_sensitive=False), help="Chart destination (target.repo.kind).")
@click.option("--url", default="", help="Chart repository URL (HARBOR, CHARTMUSEUM, OCI).")
@click.option("--path", "local_path", default="", help="Folder the charts are written to (LOCAL).")
@click.option("--bundles", default="", help="source.intermediateBundlesPath: the offline package .tar or folder.")
@click.option("--registry", default="", help="containerRegistry: replace each image's registry.")
@click.option("--repository", default="", help="containerRepository: flatten images under this repository.")
@click.option("--prefix-registry", default="", help="containerPrefixRegistry: origin registry kept in the path.")
@click.option("--prefix-repository", default="", help="containerPrefixRepository: put this before each repository.")
@click.option("--username", default="", help="Chart repository user (password: TARGET_REPO_AUTH_PASSWORD or prompt).")
@click.option(
    "--container-username",
    default="",
    help="Registry user for pushes (password: TARGET_CONTAINERS_AUTH_PASSWORD or prompt).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("load-image.yaml"),
    show_default=True,
    help="File to write.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--no-input", is_flag=True, help="Never prompt, even on a terminal.")
@json_options
def init_command(
    kind: str | None,
    url: str,
    local_path: str,
    bundles: str,
    registry: str,
    repository: str,
    prefix_registry: str,
    prefix_repository: str,
    username: str,
    container_username: str,
    output: Path,
    force: bool,
    no_input: bool,
    as_json: bool,
    report_file: Path | None,
) -> None:
    """Write a commented load-image.yaml like the vendor's examples, from flags or prompts.

    Missing answers are asked for when a terminal is attached, the image rule (containerPrefixRegistry
    or containerRegistry) included. The file is read back through the sync config reader before it is
    written, and gets mode 0600 when it holds a password.

    Example: skoala-airgap config init --kind HARBOR --bundles skoala_v0.28.1_amd64.tar --url
    https://10.6.10.10/chartrepo/skoala --username admin --prefix-registry 10.6.10.10
    """
    from skoala_airgap.config.model import RepoKind
    from skoala_airgap.config.template import InitSettings, write_config

    interactive = not no_input and _stdin_is_terminal()
    if kind is None:
        if not interactive:
            raise InputError("--kind is required (HARBOR, CHARTMUSEUM, LOCAL or OCI)")
        kind = str(click.prompt("Chart destination kind", type=click.Choice(_KINDS, case_sensitive=False)))
    repo_kind = RepoKind[kind.upper()]
    if interactive:
        if not bundles:
            bundles = click.prompt("Offline package .tar or bundle folder (intermediateBundlesPath)")
        if repo_kind is RepoKind.LOCAL and not local_path:
            local_path = click.prompt("Folder to write the charts to (repo.path)")
        if repo_kind is not RepoKind.LOCAL and not url:
            url = click.prompt(f"Chart repository URL for {repo_kind.name}")
        if not (registry or repository or prefix_registry or prefix_repository):
            registry, repository, prefix_registry, prefix_repository = _ask_rule()
        if repo_kind is not RepoKind.LOCAL and not username:
            username = click.prompt("Chart repository user (empty: none)", default="", show_default=False)
    password = (
        _password("TARGET_REPO_AUTH_PASSWORD", f"chart repository user {username}", interactive) if username else ""
    )
    if interactive and not container_username:
        container_username = click.prompt("Registry user for pushes (empty: none)", default="", show_default=False)
    container_password = (
        _password("TARGET_CONTAINERS_AUTH_PASSWORD", f"registry user {container_username}", interactive)
        if container_username
        else ""
    )
    settings = InitSettings(
        kind=repo_kind,
        bundles=bundles,
        url=url,
        path=local_path,
        registry=registry,
        prefix_registry=prefix_registry,
        repository=repository,
        prefix_repository=prefix_repository,
        username=username,
        password=password,
        container_username=container_username,
        container_password=container_password,
    )
    if username and not password:
        raise InputError(f"--username {username}: set TARGET_REPO_AUTH_PASSWORD (or run on a terminal to be asked)")
    if container_username and not container_password:
        raise InputError(
            f"--container-username {container_username}: set TARGET_CONTAINERS_AUTH_PASSWORD "
            "(or run on a terminal to be asked)"
        )
    written = write_config(settings, output, force=force)
    note = " (mode 0600: it holds a password)" if settings.has_secret else ""
    report: dict[str, Any] = {"ok": True, "file": str(written), "kind": repo_kind.name}
    report |= {"mode": "0600" if note else "0644", "warnings": [], "summary": {"holds_password": bool(note)}}
    finish(report, as_json=as_json, report_file=report_file, human=lambda: click.echo(f"wrote {written}{note}"))


def _ask_rule() -> tuple[str, str, str, str]:
    """Prompt for the image rewrite rule: (registry, repository, prefix_registry, prefix_repository)."""
    click.echo(_RULE_CHOICES)
    rule = click.prompt("Image rule", type=click.Choice(_RULES), default=_RULES[0])
    if rule == "prefix-registry":
        host = click.prompt("Site registry host[:port] for the images (containerPrefixRegistry)")
        prefix = click.prompt("Put this before each repository (containerPrefixRepository)", default="")
        return "", "", host, prefix
    host = click.prompt("Site registry host[:port] for the images (containerRegistry)")
    flatten = click.prompt("Flatten images under this repository (containerRepository)", default="")
    return host, flatten, "", ""


@config_group.command("validate", short_help="Check a load-image.yaml; --online also logs in.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-images", is_flag=True, help="Images will be skipped: no rewrite rule is needed.")
@click.option("--online", is_flag=True, help="Also check that the registry and the chart repository answer.")
@connection_options
@json_options
def validate_command(
    file: Path, skip_images: bool, online: bool, as_json: bool, report_file: Path | None, **opts: Any
) -> None:
    """Report every problem of FILE with its line number (environment credentials applied, as in sync).

    Besides charts-syncer's own rules it checks what skoala-airgap needs: the bundles path exists, the
    source is a bundle folder or package (not source.repo), a LOCAL target is a folder. With --online
    it also logs in to the registry and reads the chart repository, writing nothing.

    Example: skoala-airgap config validate load-image.yaml --online --insecure
    """
    from skoala_airgap.config.reader import load_config, validate_config
    from skoala_airgap.config.validate import usable_here

    if file.is_dir():
        raise InputError(f"{file}: is a directory; give the load-image.yaml file")
    if not file.exists():
        raise InputError(f"{file}: config file not found")
    problems = [str(p) for p in validate_config(file, environ=os.environ, skip_images=skip_images)]
    warnings: list[str] = []
    checks: list[dict[str, str]] = []
    if not problems:
        config = load_config(file, environ=os.environ)
        warnings = list(config.warnings)
        problems = [str(p) for p in usable_here(config)]
        if online and not problems:
            checks = _online_checks(config, opts)
            problems += [f"{c['what']}: {c['error']}" for c in checks if c["status"] != "ok"]
    report = {
        "ok": not problems,
        "file": str(file),
        "problems": problems,
        "warnings": warnings,
        "online": checks,
        "summary": {
            "problems": len(problems),
            "warnings": len(warnings),
            "online_ok": sum(c["status"] == "ok" for c in checks),
            "online_failed": sum(c["status"] != "ok" for c in checks),
        },
    }

    def human() -> None:
        for problem in problems:
            click.echo(problem)
        for check in checks:
            click.echo(f"{check['status']:4} {check['what']}" + (f": {check['error']}" if check["error"] else ""))
        for message in warnings:
            warn(message)
        if not problems:
            click.echo(f"{file}: OK")

    finish(report, as_json=as_json, report_file=report_file, human=human)
    if problems:
        raise InputError(f"{file}: {len(problems)} problem{'s' if len(problems) > 1 else ''}")


def _online_checks(config: Any, opts: dict[str, Any]) -> list[dict[str, str]]:
    from skoala_airgap.cli.options import connection_from
    from skoala_airgap.workflows.config_check import online_checks
    from skoala_airgap.workflows.sync import config_logins

    return online_checks(config, connection_from(opts, logins=config_logins(config)))


def _destinations(config: Any, package: Path) -> list[dict[str, Any]]:
    from skoala_airgap.workflows.config_check import image_destinations_of

    images, warnings = image_destinations_of(config, package)
    for message in warnings:
        warn(message)
    return images


@config_group.command("show", short_help="Print the effective config, passwords masked.")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--package", type=click.Path(path_type=Path), help="Also show where each image of PACKAGE goes.")
@json_options
def show_command(file: Path, package: Path | None, as_json: bool, report_file: Path | None) -> None:
    """Print the effective config (defaults and environment applied) with passwords shown as ******.

    Example: skoala-airgap config show load-image.yaml --package skoala_v0.28.1_amd64.tar
    """
    from skoala_airgap.config.reader import load_config

    config = load_config(file, environ=os.environ)
    for message in config.warnings:
        warn(message)
    shown = config.redacted()
    images = _destinations(config, package) if package is not None else None
    counts: dict[str, int] = {}
    for entry in images or []:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    report = {
        "ok": True,
        "file": str(file),
        "config": shown,
        "images": images if images is not None else [],  # with --package only
        "warnings": list(config.warnings),
        "summary": {"images": sum(1 for e in images or [] if "source" in e), **counts},
    }

    def human() -> None:
        click.echo(yaml.safe_dump(shown, sort_keys=False, default_flow_style=False), nl=False)
        if images is None:
            return
        click.echo(f"# images of {package}:")
        for entry in images:
            if "source" not in entry:
                click.echo(f"#   {entry['chart']} {entry['version']}: {entry['status']}")
                continue
            where = entry["destination"] or entry["chartValue"]
            click.echo(f"#   {entry['chart']} {entry['version']}: {entry['source']} -> {where} [{entry['status']}]")

    finish(report, as_json=as_json, report_file=report_file, human=human)
