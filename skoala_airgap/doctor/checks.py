"""One doctor run: read every input first (bad input exits 2 before anything is contacted), then the
package, manifest, backup, images and database checks, in the order the vendor's page lists them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from skoala_airgap.doctor.backup import Backup, backup_checks, check_images, read_backup
from skoala_airgap.doctor.database import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, check_database
from skoala_airgap.doctor.dsn import DEFAULT_DSN, MySQLDSN, parse_dsn
from skoala_airgap.doctor.manifest import check_manifest, read_manifest
from skoala_airgap.doctor.project import (
    SKOALA,
    SKOALA_INIT,
    ImageExists,
    InputError,
    PackageFacts,
    override_images,
    read_package,
)
from skoala_airgap.doctor.report import Check, Report

__all__ = ["DoctorInputs", "package_checks", "resolve_dsn", "run_doctor"]


@dataclass(frozen=True)
class DoctorInputs:
    """What the engineer pointed doctor at. ``password`` (stdin or env) beats the DSN's own."""

    package: Path | None = None
    manifest: Path | None = None
    backup: Path | None = None
    registry: str = ""
    dsn: str | None = field(default=None, repr=False)
    db_host: str | None = None
    db_port: int | None = None
    db_user: str | None = None
    db_name: str | None = None
    password: str | None = field(default=None, repr=False)
    connect_timeout: float | None = None
    read_timeout: float | None = None
    verify_checksum: bool = True

    @property
    def wants_database(self) -> bool:
        options = (self.dsn, self.db_host, self.db_port, self.db_user, self.db_name, self.password)
        return any(option is not None for option in options)


def resolve_dsn(inputs: DoctorInputs, backup: Backup | None) -> MySQLDSN | None:
    """--dsn, else the backup's DSN, else the vendor's default when any --db-* option is given;
    then --db-host/--db-port/--db-user/--db-name and the password are applied on top."""
    base: MySQLDSN | None
    if inputs.dsn is not None:
        base = parse_dsn(inputs.dsn, "--dsn")
    elif backup is not None and backup.dsn is not None:
        base = backup.dsn
    else:
        base = DEFAULT_DSN if inputs.wants_database else None
    if base is None:
        return None
    return base.overridden(
        host=inputs.db_host,
        port=inputs.db_port,
        user=inputs.db_user,
        database=inputs.db_name,
        password=inputs.password,
    )


def _timeout(given: float | None, dsn: MySQLDSN, param: str, default: float) -> float:
    if given is not None:
        return given
    from_dsn = dsn.timeout(param, "DSN")
    return from_dsn if from_dsn else default  # Go's 0 means "no timeout": doctor always has one


def package_checks(facts: PackageFacts) -> list[Check]:
    """skoala and skoala-init in lockstep, and the sha512 file next to the package."""
    label = str(facts.path)
    checks: list[Check] = []
    skoala, init = facts.versions.get(SKOALA, ()), facts.versions.get(SKOALA_INIT, ())
    name = "package.versions"
    if not skoala:
        checks.append(Check(name, "fail", f"no {SKOALA} chart in the package", "is this the skoala package?", label))
    elif len(skoala) > 1 or len(init) > 1:
        listed = "; ".join(f"{c} {'/'.join(v)}" for c, v in facts.versions.items() if c in (SKOALA, SKOALA_INIT))
        checks.append(Check(name, "fail", f"several versions of one chart ({listed})", "use one package", label))
    elif facts.lockstep_warnings:
        advice = "skoala and skoala-init must be upgraded together: get a package with one version"
        prefix = f"{facts.path.name}: "
        for message in facts.lockstep_warnings:
            checks.append(Check(name, "fail", message.removeprefix(prefix), advice, label))
    elif not init:
        advice = f"upgrade skoala-init to {skoala[0]} too, from the package that has it"
        checks.append(Check(name, "warn", f"{SKOALA} {skoala[0]} but no {SKOALA_INIT} chart", advice, label))
    else:
        message = f"{SKOALA} {skoala[0]} and {SKOALA_INIT} {init[0]}: one version"
        checks.append(Check(name, "ok", message, "", label))
    status = facts.checksum_status
    where = str(facts.checksum_file) if facts.checksum_file else label
    if status == "match":
        checks.append(Check("package.checksum", "ok", "sha512 matches", "", where))
    elif status == "mismatch":
        checks.append(
            Check("package.checksum", "fail", "sha512 does not match", "copy the package again: it is damaged", where)
        )
    elif status == "absent" and facts.checksum_file is None:
        advice = "keep the vendor's _checksum.sha512sum next to the package"
        checks.append(Check("package.checksum", "warn", "no checksum file next to the package", advice, label))
    elif status == "absent":
        checks.append(Check("package.checksum", "warn", "checksum not verified (--no-checksum)", "", where))
    return checks


def run_doctor(inputs: DoctorInputs, *, image_exists: ImageExists | None = None) -> Report:
    """Every check the inputs allow; ``image_exists`` is the probe ``verify`` will provide."""
    if inputs.package is None and inputs.manifest is None and inputs.backup is None and not inputs.wants_database:
        raise InputError("nothing to check: give PACKAGE, --manifest, -f BACKUP, --dsn or --db-host")
    backup = read_backup(inputs.backup) if inputs.backup is not None else None
    dsn = resolve_dsn(inputs, backup)
    if dsn is not None:
        connect_timeout = _timeout(inputs.connect_timeout, dsn, "timeout", DEFAULT_CONNECT_TIMEOUT)
        read_timeout = _timeout(inputs.read_timeout, dsn, "readTimeout", DEFAULT_READ_TIMEOUT)
    manifest = read_manifest(inputs.manifest) if inputs.manifest is not None else None
    facts = read_package(inputs.package, verify_checksum=inputs.verify_checksum) if inputs.package else None

    report = Report()
    if facts is not None:
        report.extend(package_checks(facts))
    versions = {SKOALA: facts.version_of(SKOALA), SKOALA_INIT: facts.version_of(SKOALA_INIT)} if facts else {}
    if inputs.manifest is not None:
        report.extend(check_manifest(inputs.manifest, manifest, versions))
    if backup is not None:
        report.extend(backup_checks(backup, inputs.registry))
    if inputs.registry:
        if inputs.package is None:
            report.extend([Check("images.override", "warn", "--registry needs PACKAGE to list the images", "")])
        else:
            text, label = (backup.text, str(backup.path)) if backup else ("", "bak.yaml")
            images, warnings = override_images(inputs.package, inputs.registry, text, label)
            advice = "the override keeps the backup's tags: drop the pin, or push that image too"
            report.extend(Check("images.override", "warn", message, advice) for message in warnings)
            report.extend([check_images(images, inputs.registry, image_exists)])
    if dsn is None:
        advice = "give -f bak.yaml (its DSN), --dsn, or --db-host with the password in SKOALA_DB_PASSWORD"
        report.extend([Check("database", "warn", "database not checked", advice)])
    else:
        report.extend(
            check_database(
                dsn,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                package_version=versions.get(SKOALA),
            )
        )
    return report
