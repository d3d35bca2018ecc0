"""``--json`` and ``--report FILE`` on every command (issue 12): one schema style everywhere.

Every command prints, with ``--json``, exactly one JSON object on stdout holding ``ok`` (bool),
``warnings`` (list), ``summary`` (object) and, where the command has items, their list (images, charts,
checks, ...). ``--report FILE`` writes the same object to FILE while the text still goes to the terminal.
The commands are enumerated from the click group, so a new command without a case here fails.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from fixtures.bundles import OfflinePackage, write_offline_package
from skoala_airgap.cli.main import cli
from tests.helpers import CliResult, run_cli
from tests.infra.containerd import ContainerdProcess
from tests.infra.registry import RegistryProcess

SITE = "10.6.10.10"


def leaf_commands() -> dict[str, click.Command]:
    """``"config validate"`` -> command, for every command a user can run."""
    ctx = click.Context(cli)
    out: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            path = f"{prefix} {name}".strip()
            if isinstance(command, click.Group):
                walk(command, path)
            else:
                out[path] = command

    walk(cli, "")
    return out


@dataclass
class Site:
    """What the cases need: a package, a registry, a runtime and a scratch folder."""

    package: OfflinePackage
    registry: RegistryProcess
    containerd: ContainerdProcess
    work: Path

    @property
    def pkg(self) -> str:
        return str(self.package.path)

    def config(self, name: str) -> str:
        path = self.work / f"{name}.yaml"
        if not path.exists():
            path.write_text(
                json.dumps(
                    {
                        "source": {"intermediateBundlesPath": self.pkg},
                        "target": {
                            "containerPrefixRegistry": self.registry.host,
                            "containerPrefixRepository": f"ux-json-{name}",
                            "repo": {"kind": "LOCAL", "path": str(self.work / f"charts-{name}")},
                        },
                    }
                )
            )
        return str(path)

    def fresh(self, name: str) -> str:
        """A path that does not exist yet (for -o and similar)."""
        path = self.work / name
        n = 0
        while path.exists():
            n += 1
            path = self.work / f"{name}.{n}"
        return str(path)


# command -> (arguments, the key of its item list or None when it has no items)
Case = Callable[[Site], list[str]]
CASES: dict[str, tuple[Case, str | None]] = {
    "inspect": (lambda s: ["inspect", s.pkg, "--verify"], "bundles"),
    "unpack": (lambda s: ["unpack", s.pkg, "-o", s.fresh("unpacked")], "files"),
    "push-images": (
        lambda s: ["push-images", s.pkg, "--registry", s.registry.host, "--plain-http", "--prefix-repository", "uxj"],
        "images",
    ),
    "sync": (lambda s: ["sync", "--config", s.config("sync"), "--plain-http"], "charts"),
    "load": (
        lambda s: ["load", s.pkg, "--runtime", "containerd", "--address", s.containerd.address, "--namespace", "uxj"],
        "images",
    ),
    "verify": (
        lambda s: ["verify", s.pkg, "--registry", s.registry.host, "--plain-http", "--prefix-repository", "uxj"],
        "items",
    ),
    "values": (lambda s: ["values", "--package", s.pkg, "--registry", SITE, "-o", s.fresh("override.yaml")], "images"),
    "helm-command": (lambda s: ["helm-command", s.pkg, "--registry", SITE], "charts"),
    "config init": (
        lambda s: [
            *("config", "init", "--kind", "LOCAL", "--path", "c", "--bundles", s.pkg, "--prefix-registry", SITE),
            *("--no-input", "-o", s.fresh("init.yaml")),
        ],
        None,
    ),
    "config validate": (lambda s: ["config", "validate", s.config("validate")], "problems"),
    "config show": (lambda s: ["config", "show", s.config("show"), "--package", s.pkg], "images"),
    "doctor": (lambda s: ["doctor", s.pkg], "checks"),
    "completion": (lambda s: ["completion", "bash"], None),
    "version": (lambda s: ["version"], None),
}
# commands whose run moves or checks many things: their text ends with counts, bytes (when bytes move)
# and the elapsed time
SUMMARY_LINES = {
    "push-images": r"^8 images: 8 (pushed|unchanged); [\d.]+ \S+ uploaded.* in [\d.]+ s$",
    "sync": r"^2 charts: 2 (published|already-synced); 8 images \(8 (pushed|unchanged)\), .* in [\d.]+ s$",
    "load": r"^8 of 8 images loaded into containerd .* \([\d.]+ \S+\) in [\d.]+ s$",
    "verify": r"^8 checked: 8 present in [\d.]+ s",
    "unpack": r"^unpacked 4 files \([\d.]+ \S+\) into .* in [\d.]+ s$",
    "inspect": r"^total: 8 images, [\d.]+ \S+, [\d.]+ \S+ unique$",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, registry: RegistryProcess, containerd: ContainerdProcess) -> Site:
    work = tmp_path_factory.mktemp("ux-json")
    package = write_offline_package(work / "pkg", layer_size=4096, seed=21)
    return Site(package, registry, containerd, work)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("TARGET_", "SOURCE_", "SKOALA_DB"))}


def _check_schema(data: object, items: str | None, where: str) -> None:
    assert isinstance(data, dict), where
    assert isinstance(data.get("ok"), bool), (where, data)
    assert isinstance(data.get("warnings"), list), (where, sorted(data))
    assert isinstance(data.get("summary"), dict), (where, sorted(data))
    if items is not None:
        assert isinstance(data.get(items), list), (where, items, sorted(data))


def test_every_command_has_a_case_and_both_options() -> None:
    commands = leaf_commands()
    assert sorted(commands) == sorted(CASES), "add a case to CASES for each new command (and --json/--report)"
    for name, command in commands.items():
        options = {opt for p in command.params for opt in getattr(p, "opts", [])}
        assert {"--json", "--report"} <= options, name


def _run(site: Site, name: str, *extra: str) -> CliResult:
    case, _ = CASES[name]
    result = run_cli(*case(site), *extra, env=_env())
    assert result.code in (0, 1), (name, result.code, result.stderr)  # doctor: 1 when a check fails
    return result


# one test per command, in an order where each finds what it needs (verify after push-images)
ORDER = ["push-images", *sorted(set(CASES) - {"push-images", "verify"}), "verify"]


@pytest.mark.parametrize("name", ORDER)
def test_json_parses_and_has_the_schema(site: Site, name: str) -> None:
    result = _run(site, name, "--json")
    data = json.loads(result.stdout)  # the whole of stdout is the one object
    _check_schema(data, CASES[name][1], name)
    if name != "doctor":
        assert data["ok"] is True, (name, data)


@pytest.mark.parametrize("name", ORDER)
def test_report_file_while_text_goes_to_the_terminal(site: Site, name: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = _run(site, name, "--report", str(report))
    _check_schema(json.loads(report.read_text()), CASES[name][1], name)
    assert result.stdout.strip(), name
    with pytest.raises(ValueError):
        json.loads(result.stdout)  # the terminal got the text form
    if name in SUMMARY_LINES:
        assert re.search(SUMMARY_LINES[name], result.stdout, re.MULTILINE), (name, result.stdout[-600:])


def test_dry_runs_print_json_too(site: Site) -> None:
    """The issue's case: push-images --dry-run --json printed text."""
    push = run_cli("push-images", site.pkg, "--registry", SITE, "--dry-run", "--json", env=_env())
    data = json.loads(push.stdout)
    _check_schema(data, "images", "push-images --dry-run")
    assert {i["status"] for i in data["images"]} == {"planned"} and data["summary"]["planned"] == 8
    sync = run_cli("sync", "--config", site.config("dry"), "--dry-run", "--json", env=_env())
    data = json.loads(sync.stdout)
    _check_schema(data, "charts", "sync --dry-run")
    assert {c["status"] for c in data["charts"]} == {"planned"}


def test_failures_still_print_the_json_report(site: Site) -> None:
    """verify exits 1 when images are missing, and says which in its JSON."""
    args = ["verify", site.pkg, "--registry", site.registry.host, "--plain-http", "--prefix-repository", "uxj-none"]
    result = run_cli(*args, "--json", env=_env())
    assert result.code == 1
    data = json.loads(result.stdout)
    _check_schema(data, "items", "verify (missing)")
    assert data["ok"] is False and data["summary"]["missing"] == 8
