"""Chains users run, judged as a user would judge the site: push -> helm-command -> values -> helm
template (does every image the charts pull exist?), sync -> wipe -> sync, sync -> new rules -> sync,
sync over TLS with a private CA and config.json logins, and verify after each kind of damage.

Images go to real registries (Debian docker-registry) and are checked with skopeo; charts go to a LOCAL
chart directory; helm renders the original chart with the backup and the override."""

from __future__ import annotations

import json
import os
import re
import shlex
import tarfile
from base64 import b64encode
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.bundles import OfflinePackage, write_offline_package
from tests.conftest import TEST_PASSWORD, TEST_USER
from tests.helm import run_helm
from tests.helpers import CliResult, chart_values, run_cli, write_yaml
from tests.infra.registry import RegistryProcess, run_skopeo

_IMAGE_LINE = re.compile(r"^\s*(?:-\s+)?image:\s*[\"']?([^\"'\s]+)", re.MULTILINE)
BACKUP = "replicaCount: 2\nhive:\n  resources:\n    limits:\n      cpu: 500m\n"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> OfflinePackage:
    return write_offline_package(tmp_path_factory.mktemp("pkg"), layer_size=2048)


def _ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def _one_error_line(result: CliResult, code: int) -> str:
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    return errors[0]


def _exists(tmp: Path, ref: str, *extra: str) -> bool:
    out = run_skopeo(tmp, "inspect", "--raw", "--tls-verify=false", *extra, f"docker://{ref}", check=False)
    return out.returncode == 0


def _sync_config(path: Path, package: OfflinePackage, charts: Path, **target: Any) -> Path:
    config = {
        "source": {"intermediateBundlesPath": str(package.path)},
        "target": {**target, "repo": {"kind": "LOCAL", "path": str(charts)}},
    }
    return write_yaml(path, config)


def _sync(config: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[CliResult, dict[str, Any]]:
    result = run_cli("sync", "--config", str(config), "--json", *extra, env=env)
    return result, (json.loads(result.stdout) if result.stdout.startswith("{") else {})


def _image_statuses(report: dict[str, Any]) -> list[str]:
    return [image["status"] for chart in report["charts"] for image in chart["images"]]


def _extract_original_chart(package: OfflinePackage, chart: str, into: Path) -> Path:
    """The chart inside the bundle inside the package, as the printed script extracts it."""
    with tarfile.open(package.path) as outer:
        member = outer.extractfile(f"{chart}_0.28.1.bundle.tar")
        assert member is not None
        with tarfile.open(fileobj=member, mode="r|") as bundle:
            for entry in bundle:
                if entry.name.startswith("original-chart/"):
                    bundle.extract(entry, into, filter="data")
    return into / "original-chart"


# --------------------------------------------------------------------------------------------------------
# README quickstart: push-images --prefix-registry, then helm-command with no rules at all


def test_quickstart_chain_every_rendered_image_exists(
    tmp_path: Path, package: OfflinePackage, fresh_registry: RegistryProcess
) -> None:
    host = fresh_registry.host
    pushed = _ok(run_cli("push-images", str(package.path), "--prefix-registry", host))
    receipt = Path.cwd() / "skoala_v0.28.1_amd64.receipt.json"
    assert f"receipt: {receipt}" in pushed.stdout + pushed.stderr
    placed = json.loads(receipt.read_text())
    targets = {i["target"] for p in placed["placements"] for i in p["images"]}
    assert f"{host}/docker.m.daocloud.io/skoala/hive:v0.28.1" in targets

    script = _ok(run_cli("helm-command", str(package.path))).stdout
    assert f"containerPrefixRegistry={host} (from receipt {receipt})" in script
    value_lines = [line for line in script.splitlines() if line.startswith("skoala-airgap values ")]
    assert len(value_lines) == 2
    for chart in ("skoala", "skoala-init"):
        Path(f"{chart}-bak.yaml").write_text(BACKUP)
    for line in value_lines:  # run them exactly as printed
        _ok(run_cli(*shlex.split(line)[1:]))

    for chart in ("skoala", "skoala-init"):
        override = Path(f"{chart}-override.yaml")
        assert yaml.safe_load(override.read_text())["global"]["imageRegistry"] == host
        _ok(run_cli("verify", str(package.path), "--chart", chart, "-f", str(override)))
        chart_dir = _extract_original_chart(package, chart, tmp_path / chart)
        rendered = run_helm(
            tmp_path / "helm", "template", chart, str(chart_dir), "-n", "skoala-system",
            "--kube-version", "1.29.0", "-f", f"{chart}-bak.yaml", "-f", str(override),
        ).stdout  # fmt: skip
        images = set(_IMAGE_LINE.findall(rendered))
        assert images, rendered[:2000]
        missing = [ref for ref in sorted(images) if not _exists(tmp_path, ref)]
        assert not missing, f"{chart}: the override makes the chart pull images that are not there: {missing}"


def test_rule_options_that_contradict_the_receipt_are_refused(
    package: OfflinePackage, fresh_registry: RegistryProcess
) -> None:
    host = fresh_registry.host
    _ok(run_cli("push-images", str(package.path), "--prefix-registry", host, "-q"))
    for command in (["helm-command", str(package.path)], ["values", "--package", str(package.path), "-o", "x.yaml"]):
        line = _one_error_line(run_cli(*command, "--registry", host), 2)
        assert f"placed with containerPrefixRegistry={host}" in line and "containerRegistry" in line
    assert not Path("x.yaml").exists()
    # the same rules as the receipt are fine
    _ok(run_cli("helm-command", str(package.path), "--prefix-registry", host))


# --------------------------------------------------------------------------------------------------------
# sync -> re-run after damage: the chart alone is not trusted


def test_sync_after_the_registry_was_wiped_pushes_again(
    tmp_path: Path, package: OfflinePackage, fresh_registry: RegistryProcess
) -> None:
    config = _sync_config(
        tmp_path / "load-image.yaml", package, tmp_path / "charts", containerPrefixRegistry=fresh_registry.host
    )
    first, report = _sync(config)
    _ok(first)
    assert set(_image_statuses(report)) == {"pushed"}

    fresh_registry.reset()  # the site lost its registry storage; the chart directory is intact
    ref = f"{fresh_registry.host}/docker.m.daocloud.io/skoala/hive:v0.28.1"
    assert not _exists(tmp_path, ref)
    assert run_cli("verify", "--config", str(config)).code == 1

    again, report = _sync(config)
    _ok(again)
    assert {c["status"] for c in report["charts"]} == {"already-synced"}
    assert set(_image_statuses(report)) == {"pushed"}
    assert _exists(tmp_path, ref)
    _ok(run_cli("verify", "--config", str(config)))
    third, report = _sync(config)
    _ok(third)
    assert set(_image_statuses(report)) == {"unchanged"}


def test_sync_with_changed_rules_reports_differs_and_force_replaces(
    tmp_path: Path, package: OfflinePackage, fresh_registry: RegistryProcess
) -> None:
    host = fresh_registry.host
    charts = tmp_path / "charts"
    _ok(_sync(_sync_config(tmp_path / "a.yaml", package, charts, containerPrefixRegistry=host))[0])
    changed = _sync_config(tmp_path / "b.yaml", package, charts, containerRegistry=host, containerRepository="dce")

    result, report = _sync(changed)
    assert result.code == 1, result.stderr
    assert {c["status"] for c in report["charts"]} == {"differs"}
    assert "use --force" in result.stderr and "Traceback" not in result.stderr
    assert _exists(tmp_path, f"{host}/dce/hive:v0.28.1")  # images first, then the chart refused
    assert run_cli("verify", "--config", str(changed)).code == 1

    forced, report = _sync(changed, "--force")
    _ok(forced)
    assert {c["status"] for c in report["charts"]} == {"replaced"}
    values = chart_values((charts / "skoala-0.28.1.tgz").read_bytes(), "skoala")
    assert values["hive"]["image"]["repository"] == "dce/hive"
    _ok(run_cli("verify", "--config", str(changed)))
    old = run_cli("verify", "--config", str(tmp_path / "a.yaml"), "--json")
    assert old.code == 1
    assert {i["status"] for i in json.loads(old.stdout)["items"] if i["kind"] == "chart"} == {"different"}


# --------------------------------------------------------------------------------------------------------
# sync over TLS with a private CA, and with docker config.json logins


def _tls_env(tmp_path: Path, registry_tls: RegistryProcess) -> dict[str, str]:
    """A docker config.json with the login (no password in the environment or the config)."""
    docker_config = tmp_path / "docker"
    docker_config.mkdir()
    auth = b64encode(f"{TEST_USER}:{TEST_PASSWORD}".encode()).decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {registry_tls.host: {"auth": auth}}}))
    return dict(os.environ, DOCKER_CONFIG=str(docker_config))


def test_sync_tls_private_ca_and_config_json_logins(
    tmp_path: Path, package: OfflinePackage, registry_tls: RegistryProcess
) -> None:
    host = registry_tls.host
    ca = Path(registry_tls.tls.ca_pem) if registry_tls.tls else None
    assert ca is not None
    env = _tls_env(tmp_path, registry_tls)
    config = _sync_config(
        tmp_path / "load-image.yaml", package, tmp_path / "charts", containerPrefixRegistry=f"{host}/ca-file"
    )

    untrusted, _ = _sync(config, env=env)
    line = _one_error_line(untrusted, 2)
    assert "TLS" in line and "--ca-file" in line and host in line
    assert not (tmp_path / "charts" / "skoala-0.28.1.tgz").exists()

    result, report = _sync(config, "--ca-file", str(ca), env=env)
    _ok(result)
    assert TEST_PASSWORD not in result.stdout + result.stderr
    assert set(_image_statuses(report)) == {"pushed"}
    login = ("--creds", f"{TEST_USER}:{TEST_PASSWORD}", "--cert-dir", str(ca.parent))
    assert _exists(tmp_path, f"{host}/ca-file/docker.m.daocloud.io/skoala/hive:v0.28.1", *login)

    certs_d = tmp_path / "certs.d"
    (certs_d / host).mkdir(parents=True)
    (certs_d / host / "ca.crt").write_bytes(ca.read_bytes())
    config2 = _sync_config(
        tmp_path / "c2.yaml", package, tmp_path / "charts2", containerPrefixRegistry=f"{host}/certs-d"
    )
    result, report = _sync(config2, env=dict(env, SKOALA_AIRGAP_CERTS_D=str(certs_d)))
    _ok(result)
    assert set(_image_statuses(report)) == {"pushed"}
    _ok(run_cli("verify", "--config", str(config2), env=dict(env, SKOALA_AIRGAP_CERTS_D=str(certs_d))))


# --------------------------------------------------------------------------------------------------------
# verify: complete, a manifest deleted, a tag moved


def _delete_manifest(registry: RegistryProcess, repository: str, tag: str) -> None:
    session = registry.session()
    accept = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
    head = session.head(f"{registry.url}/v2/{repository}/manifests/{tag}", headers={"Accept": accept}, timeout=10)
    head.raise_for_status()
    digest = head.headers["Docker-Content-Digest"]
    session.delete(f"{registry.url}/v2/{repository}/manifests/{digest}", timeout=10).raise_for_status()


def test_verify_reports_missing_and_moved_images(
    tmp_path: Path, package: OfflinePackage, fresh_registry: RegistryProcess
) -> None:
    host = fresh_registry.host
    _ok(run_cli("push-images", str(package.path), "--prefix-registry", host, "-q"))
    complete = _ok(run_cli("verify", str(package.path), "--json"))
    report = json.loads(complete.stdout)
    assert report["ok"] is True and report["summary"]["present"] == len(package.image_refs)

    _delete_manifest(fresh_registry, "docker.m.daocloud.io/skoala/hive", "v0.28.1")
    other = f"{host}/docker.m.daocloud.io/skoala/sesame:v0.28.1"
    moved_from = json.loads(complete.stdout)["items"]
    sesame_digest = next(i["expected"] for i in moved_from if i["target"] == other)
    run_skopeo(
        tmp_path, "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
        f"docker://{host}/docker.m.daocloud.io/skoala/contour:v1.27.1", f"docker://{other}",
    )  # fmt: skip

    damaged = run_cli("verify", str(package.path))
    assert damaged.code == 1, damaged.stderr
    out = damaged.stdout + damaged.stderr
    assert f"{host}/docker.m.daocloud.io/skoala/hive:v0.28.1: not found" in out
    assert f"{other}: tag moved: expected {sesame_digest}, registry has sha256:" in out
    as_json = json.loads(run_cli("verify", str(package.path), "--json").stdout)
    statuses = {i["target"]: i["status"] for i in as_json["items"]}
    assert statuses[f"{host}/docker.m.daocloud.io/skoala/hive:v0.28.1"] == "missing"
    assert statuses[other] == "different"
    assert list(statuses.values()).count("present") == len(package.image_refs) - 2

    requests_before = fresh_registry.request_count("PUT") + fresh_registry.request_count("POST")
    run_cli("verify", str(package.path))
    assert fresh_registry.request_count("PUT") + fresh_registry.request_count("POST") == requests_before  # read-only


def test_doctor_checks_the_override_images_with_verify(
    tmp_path: Path, package: OfflinePackage, fresh_registry: RegistryProcess
) -> None:
    host = fresh_registry.host
    backup = tmp_path / "skoala-bak.yaml"
    backup.write_text(BACKUP)
    _ok(run_cli("push-images", str(package.path), "--prefix-registry", host, "-q"))
    args = ("doctor", str(package.path), "-f", str(backup), "--registry", host, "--no-checksum", "--json")
    checks = {c["name"]: c for c in json.loads(_ok(run_cli(*args)).stdout)["checks"]}
    assert checks["images.override"]["status"] == "ok", checks["images.override"]

    _delete_manifest(fresh_registry, "docker.m.daocloud.io/skoala/hive", "v0.28.1")
    failed = run_cli(*args)
    assert failed.code == 1, failed.stderr
    check = {c["name"]: c for c in json.loads(failed.stdout)["checks"]}["images.override"]
    assert check["status"] == "fail"
    assert f"{host}/docker.m.daocloud.io/skoala/hive:v0.28.1" in check["message"]


def test_push_and_verify_through_an_http_proxy(
    tmp_path: Path, package: OfflinePackage, registry: RegistryProcess
) -> None:
    """HTTP_PROXY is honoured by every call: the site registry's name resolves only at the proxy."""
    from tests.infra.faulty_proxy import faulty_proxy

    site = "site-registry.invalid:5000/via-proxy"
    with faulty_proxy(registry.host, []) as proxy:
        env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
        env.update(HTTP_PROXY=f"http://{proxy.host}", http_proxy=f"http://{proxy.host}")
        _ok(run_cli("push-images", str(package.path), "--prefix-registry", site, "--plain-http", "-q", env=env))
        _ok(run_cli("verify", str(package.path), "--prefix-registry", site, "--plain-http", env=env))
        assert run_cli("verify", str(package.path), "--prefix-registry", site, "--plain-http").code == 1
    urls = {url for _, url, _ in proxy.seen}
    assert urls and all(url.startswith("http://site-registry.invalid:5000/") for url in urls)
    assert any("/v2/via-proxy/docker.m.daocloud.io/skoala/hive/manifests/" in url for url in urls)
    assert _exists(tmp_path, f"{registry.host}/via-proxy/docker.m.daocloud.io/skoala/hive:v0.28.1")
