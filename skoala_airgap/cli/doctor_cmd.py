"""``skoala-airgap doctor``: the vendor's pre-upgrade checks (manifest, package, backup, database)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from skoala_airgap.cli.options import json_options
from skoala_airgap.cli.render import finish

PASSWORD_ENV = "SKOALA_DB_PASSWORD"
_FILE = click.Path(path_type=Path, dir_okay=False)


def _password(password_stdin: bool) -> str | None:
    """From stdin (one line) or SKOALA_DB_PASSWORD, never from a flag (shell history, ``ps``)."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return os.environ.get(PASSWORD_ENV)


@click.command("doctor", short_help="Run the vendor's pre-upgrade checks (read-only).")
@click.argument("package", required=False, type=click.Path(path_type=Path))
@click.option("--manifest", type=_FILE, help="The installer's manifest.yaml (components.skoala).")
@click.option("-f", "--values", "backup", type=_FILE, help="The values backup: helm get values skoala -o yaml.")
@click.option("--registry", default="", help="Site registry: check the images the values override would use.")
@click.option("--dsn", help="Go MySQL DSN (user[:password]@tcp(host:port)/db?...); default: the backup's.")
@click.option("--db-host", help="Database host, e.g. 127.0.0.1 with kubectl port-forward (overrides the DSN's).")
@click.option("--db-port", type=click.IntRange(1, 65535), help="Database port (default 3306).")
@click.option("--db-user", help="Database user (default skoala).")
@click.option("--db-name", help="Database name (default skoala).")
@click.option("--password-stdin", is_flag=True, help=f"Read the database password from stdin (else {PASSWORD_ENV}).")
@click.option("--connect-timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds (default: DSN or 10).")
@click.option(
    "--read-timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds per read, handshake included (default 10).",
)
@click.option("--no-checksum", is_flag=True, help="Do not hash the package against its sha512 file.")
@json_options
def doctor_command(
    package: Path | None,
    manifest: Path | None,
    backup: Path | None,
    registry: str,
    dsn: str | None,
    db_host: str | None,
    db_port: int | None,
    db_user: str | None,
    db_name: str | None,
    password_stdin: bool,
    connect_timeout: float | None,
    read_timeout: float | None,
    no_checksum: bool,
    as_json: bool,
    report_file: Path | None,
) -> None:
    """Run the vendor's pre-upgrade checks: installer manifest, package versions and checksum, values
    backup (DSN, registries) and skoala's database tables, read-only.

    Each check is ok, warn or fail with one line of advice; the exit code is 1 when any check failed.
    An in-cluster database host needs `kubectl port-forward` and --db-host 127.0.0.1.

    Example: skoala-airgap doctor skoala_v0.28.1_amd64.tar --manifest manifest.yaml -f skoala-bak.yaml
    --db-host 127.0.0.1 --db-port 13306
    """
    from skoala_airgap.doctor import DoctorInputs, run_doctor
    from skoala_airgap.doctor.project import PartialFailure

    inputs = DoctorInputs(
        package=package,
        manifest=manifest,
        backup=backup,
        registry=registry,
        dsn=dsn,
        db_host=db_host,
        db_port=db_port,
        db_user=db_user,
        db_name=db_name,
        password=_password(password_stdin),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        verify_checksum=not no_checksum,
    )
    image_exists = None
    if registry and package is not None:  # the override's images: verify's probe, read-only
        from skoala_airgap.cli.render import warn
        from skoala_airgap.connection.settings import ConnectionSettings
        from skoala_airgap.workflows.verify import image_probe

        image_exists = image_probe(ConnectionSettings.from_environment(), warn)
    report = run_doctor(inputs, image_exists=image_exists)
    data = report.to_json()
    data.setdefault("warnings", [f"{c.where}{c.message}" for c in report.checks if c.status == "warn"])

    def human() -> None:
        for check in report.checks:
            click.echo(f"{check.status:<4}  {check.where}{check.message}")
            if check.advice and check.status != "ok":
                click.echo(f"      -> {check.advice}")
        counts = report.summary()
        click.echo(f"doctor: {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail")

    finish(data, as_json=as_json, report_file=report_file, human=human)
    failed = report.summary()["fail"]
    if failed:  # one line on stderr and exit 1, as for every command with a partial failure
        raise PartialFailure(f"doctor: {failed} of {len(report.checks)} checks failed; fix them before helm upgrade")
