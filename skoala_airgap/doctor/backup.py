"""The release values backup (``helm get values skoala -n skoala-system -o yaml > bak.yaml``).

It holds what the upgrade keeps: the database DSN in ``hive.configMap.database[0].dsn`` (Go MySQL
form, with the password) and the image registries the release pulls from. Doctor reads both, never
prints the password, and hands the DSN to the database checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from skoala_airgap.doctor.dsn import MySQLDSN, parse_dsn
from skoala_airgap.doctor.project import ConfigError, ImageExists
from skoala_airgap.doctor.report import Check
from skoala_airgap.doctor.yamlnodes import compose_file, line_of, lookup, mapping_items, value_of

__all__ = ["DSN_PATH", "Backup", "backup_checks", "check_images", "read_backup"]

DSN_PATH: tuple[str | int, ...] = ("hive", "configMap", "database", 0, "dsn")
_DRIVER_PATH: tuple[str | int, ...] = ("hive", "configMap", "database", 0, "driver")
_DSN_KEY = "hive.configMap.database[0].dsn"


@dataclass(frozen=True)
class Backup:
    """What doctor takes from a backup: the DSN (with its line) and every image registry value."""

    path: Path
    text: str = field(repr=False)  # holds the password
    dsn: MySQLDSN | None = None
    dsn_line: int | None = None
    driver: str | None = None
    global_registry: tuple[str, int] | None = None
    registries: tuple[tuple[str, str, int], ...] = field(default=())  # (dotted key, value, line)
    helm_table_header: bool = False


def _registries(node: yaml.Node | None, prefix: str = "") -> list[tuple[str, str, int]]:
    """Every ``...image.registry`` string value, with its dotted key and line."""
    found: list[tuple[str, str, int]] = []
    for key, _, value in mapping_items(node):
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, yaml.MappingNode):
            found.extend(_registries(value, dotted))
        elif key == "registry" and prefix.split(".")[-1].lower().endswith("image"):
            text = value_of(value)
            if isinstance(text, str) and text:
                found.append((dotted, text, line_of(value) or 0))
    return found


def read_backup(path: Path) -> Backup:
    """Parse ``path``; a DSN that is not a Go MySQL DSN is bad input naming the file and line."""
    label = str(path)
    text, root = compose_file(path, "values backup")
    if root is not None and not isinstance(root, yaml.MappingNode) and value_of(root) is not None:
        raise ConfigError(label, "not a values file: the top level must be a mapping", line_of(root))
    header = any(key == "USER-SUPPLIED VALUES" for key, _, _ in mapping_items(root))
    dsn_node = lookup(root, DSN_PATH)
    dsn: MySQLDSN | None = None
    if dsn_node is not None:
        value = value_of(dsn_node)
        if not isinstance(value, str):
            raise ConfigError(label, f"{_DSN_KEY} is not a string", line_of(dsn_node))
        dsn = parse_dsn(value, f"{label}:{line_of(dsn_node)}: {_DSN_KEY}")
    driver_node = lookup(root, _DRIVER_PATH)
    driver = str(value_of(driver_node)) if driver_node is not None else None
    global_node = lookup(root, ("global", "imageRegistry"))
    global_value = value_of(global_node) if global_node is not None else None
    global_registry = (str(global_value), line_of(global_node) or 0) if global_value else None
    return Backup(path, text, dsn, line_of(dsn_node), driver, global_registry, tuple(_registries(root)), header)


def backup_checks(backup: Backup, registry: str) -> list[Check]:
    """The DSN found (redacted) and the registries the release pulls from."""
    label = str(backup.path)
    checks: list[Check] = []
    if backup.helm_table_header:
        checks.append(
            Check(
                "backup.format",
                "warn",
                "starts with helm's `USER-SUPPLIED VALUES:` line",
                "write backups with `helm get values skoala -n skoala-system -o yaml`",
                label,
                1,
            )
        )
    if backup.dsn is None:
        checks.append(
            Check(
                "backup.dsn",
                "warn",
                f"no {_DSN_KEY}: the release uses the chart's default database",
                "check with `helm get values skoala -n skoala-system -o yaml` that this is skoala's backup",
                label,
            )
        )
    else:
        if backup.driver is not None and backup.driver.lower() != "mysql":
            checks.append(
                Check(
                    "backup.dsn",
                    "warn",
                    f"database driver is {backup.driver!r}, not mysql",
                    "doctor checks MySQL databases only",
                    label,
                    backup.dsn_line,
                )
            )
        parse_time = (backup.dsn.param("parseTime") or "").lower()
        if parse_time not in ("true", "1"):
            checks.append(
                Check(
                    "backup.dsn",
                    "warn",
                    "the DSN does not set parseTime=true",
                    "hive reads timestamps: use the vendor's parameters "
                    "?charset=utf8&parseTime=true&loc=Local&timeout=10s",
                    label,
                    backup.dsn_line,
                )
            )
        checks.append(Check("backup.dsn", "ok", f"DSN {backup.dsn.redacted()}", "", label, backup.dsn_line))
    checks.append(_registry_check(backup, registry))
    return checks


def _registry_check(backup: Backup, registry: str) -> Check:
    label = str(backup.path)
    others = [(key, value, line) for key, value, line in backup.registries]
    listed = ", ".join(f"{key}={value} (line {line})" for key, value, line in others)
    if backup.global_registry is None:
        if not others:
            return Check(
                "backup.registry",
                "warn",
                "names no image registry: images come from the chart's defaults",
                "write the site override with `skoala-airgap values -f BACKUP` and pass it to helm upgrade",
                label,
            )
        return Check("backup.registry", "ok", f"image registries: {listed}", "", label, others[0][2])
    value, line = backup.global_registry
    message = f"global.imageRegistry is {value}" + (f"; also {listed}" if listed else "")
    if registry and registry != value:
        message += f"; the override will set {registry}"
    return Check("backup.registry", "ok", message, "", label, line)


def check_images(images: Sequence[str], registry: str, exists: ImageExists | None) -> Check:
    """Whether every image the override would use is in ``registry`` (``exists`` is verify's probe)."""
    if exists is None:
        return Check(
            "images.override",
            "warn",
            f"image check not available ({len(images)} images would come from {registry})",
            "push them first (`skoala-airgap sync` or `push-images`)",
        )
    answers = {image: exists(image) for image in images}
    missing = [image for image, found in answers.items() if found is False]
    unknown = [image for image, found in answers.items() if found is None]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        return Check(
            "images.override",
            "fail",
            f"{len(missing)} of {len(images)} images missing from {registry}: {shown}",
            "push them with `skoala-airgap sync` or `push-images` before upgrading",
        )
    if unknown:
        return Check(
            "images.override",
            "warn",
            f"could not check {len(unknown)} of {len(images)} images in {registry}",
            "check the registry credentials and that it is reachable",
        )
    return Check("images.override", "ok", f"all {len(images)} images of the override are in {registry}")
