"""The DCE 5.0 installer's ``manifest.yaml`` (``kind: DCEManifest``): is skoala on, at our version?

The vendor asks the engineer to confirm ``components.skoala.enable: true`` and a ``helmVersion``
matching the package (the installer installs that chart version, with or without a leading ``v``).
skoala-init is upgraded in lockstep, so its version (in the package, and in the manifest when it has
an entry) must match too. Every finding names the line at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from skoala_airgap.doctor.report import Check, bare_version
from skoala_airgap.doctor.yamlnodes import child, compose_file, key_line, line_of, lookup, value_of

__all__ = ["MANIFEST_KIND", "check_manifest", "read_manifest"]

MANIFEST_KIND = "DCEManifest"
_COMPONENTS = ("skoala", "skoala-init")


def _enable_check(path: str, component: str, entry: yaml.Node, at: int | None, optional: bool) -> Check | None:
    name = f"manifest.{component}.enable"
    node = child(entry, "enable")
    key = f"components.{component}.enable"
    if node is None:
        if optional:
            return None
        return Check(
            name,
            "warn",
            f"{key} is not set (the installer's default is true)",
            f"write `enable: true` under components.{component}",
            path,
            at,
        )
    value = value_of(node)
    if value is True:
        return Check(name, "ok", f"{key} is true", "", path, line_of(node))
    return Check(
        name,
        "fail",
        f"{key} is {node.value!r}, not true: the installer skips {component}",
        f"set {key}: true",
        path,
        line_of(node),
    )


def _version_check(
    path: str, component: str, entry: yaml.Node, at: int | None, versions: Mapping[str, str | None], optional: bool
) -> Check | None:
    name = f"manifest.{component}.helmVersion"
    key = f"components.{component}.helmVersion"
    node = child(entry, "helmVersion")
    value = value_of(node) if node is not None else None
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        want = versions.get(component) or "the package's version"
        return Check(
            name,
            "fail",
            f"{key} is not specified",
            f"set it to {want}",
            path,
            line_of(node) if node is not None else at,
        )
    text = str(value)
    mismatched = [
        f"{chart} {version}"
        for chart, version in versions.items()
        if version is not None and bare_version(version) != bare_version(text)
    ]
    line = line_of(node)
    if mismatched:
        want = versions.get(component) or next(v for v in versions.values() if v)
        return Check(
            name,
            "fail",
            f"{key} is {text} but the package has " + ", ".join(mismatched),
            f"set {key} to {want} (line {line}), or use the package of version {text}",
            path,
            line,
        )
    if not any(versions.values()):
        return Check(name, "ok", f"{key} is {text} (give PACKAGE to compare it)", "", path, line)
    return Check(name, "ok", f"{key} is {text}, as the package", "", path, line)


def read_manifest(path: Path) -> yaml.Node | None:
    """The manifest's node tree; unreadable or invalid YAML is bad input (exit 2) naming the line."""
    return compose_file(path, "installer manifest")[1]


def check_manifest(path: Path, root: yaml.Node | None, versions: Mapping[str, str | None]) -> list[Check]:
    """Checks of the manifest at ``path`` against the package's ``versions`` (``{"skoala": "0.28.1"}``)."""
    label = str(path)
    checks: list[Check] = []
    kind = child(root, "kind")
    if kind is None or value_of(kind) != MANIFEST_KIND:
        found = f"kind is {kind.value!r}" if isinstance(kind, yaml.ScalarNode) else "no kind"
        checks.append(
            Check(
                "manifest.kind",
                "warn",
                f"{found}, not {MANIFEST_KIND}",
                "is this the installer's manifest.yaml?",
                label,
                line_of(kind) or 1,
            )
        )
    components = child(root, "components")
    components_line = key_line(root, "components") or 1
    if not isinstance(components, yaml.MappingNode):
        advice = "is this the installer's manifest.yaml? It lists the modules under components"
        return [*checks, Check("manifest.skoala", "fail", "no components section", advice, label, components_line)]
    for component in _COMPONENTS:
        optional = component != "skoala"
        entry = lookup(root, ("components", component))
        at = key_line(components, component)
        if entry is None:
            if not optional:
                advice = f"add components.skoala with enable: true and helmVersion: {versions.get('skoala') or '...'}"
                checks.append(
                    Check("manifest.skoala", "fail", "components.skoala is missing", advice, label, components_line)
                )
            continue
        for check in (
            _enable_check(label, component, entry, at, optional),
            _version_check(label, component, entry, at, versions, optional),
        ):
            if check is not None:
                checks.append(check)
    return checks
