"""sync --config load-image.yaml: the vendor's three variants (and OCI) end to end, dry runs, partial
failures and bad configs. Images land in a real registry (judged by skopeo); charts in the doubles."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.bundles import OfflinePackage, write_offline_package
from tests.conftest import TEST_PASSWORD, TEST_USER
from tests.doubles.chartmuseum import ChartMuseumDouble
from tests.doubles.harbor import HarborDouble, HarborProject
from tests.helpers import chart_values, run_cli, write_yaml
from tests.infra.registry import RegistryProcess, run_skopeo


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> OfflinePackage:
    return write_offline_package(tmp_path_factory.mktemp("pkg"), layer_size=2048)


def _sync(config: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    result = run_cli("sync", "--config", str(config), "--json", *extra, env=env)
    report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result.code, report, result.stderr


def _image_ok(tmp: Path, registry: RegistryProcess, ref: str) -> dict[str, Any]:
    out = run_skopeo(tmp, "inspect", "--tls-verify=false", f"docker://{registry.host}/{ref}")
    return json.loads(out.stdout)


def test_harbor_with_prefix_registry(tmp_path: Path, package: OfflinePackage, registry: RegistryProcess) -> None:
    with HarborDouble({"admin": "Harbor12345"}, {"skoala": HarborProject(members={"admin": "projectAdmin"})}) as harbor:
        config = write_yaml(
            tmp_path / "load-image.yaml",
            {
                "source": {"intermediateBundlesPath": str(package.path)},
                "target": {
                    "containerPrefixRegistry": registry.host,
                    "repo": {
                        "kind": "HARBOR",
                        "url": f"{harbor.url}/chartrepo/skoala",
                        "auth": {"username": "admin", "password": "Harbor12345"},
                    },
                },
            },
        )
        code, report, stderr = _sync(config, "--plain-http")
        assert code == 0, stderr
        assert {(c["name"], c["status"]) for c in report["charts"]} == {
            ("skoala", "published"),
            ("skoala-init", "published"),
        }
        charts = harbor.charts_of("skoala")
        values = chart_values(charts["skoala"]["0.28.1"], "skoala")
        # Re-running finds both charts there already (charts-syncer's "Already synced").
        code, report, stderr = _sync(config, "--plain-http")
        assert code == 0, stderr
        assert {c["status"] for c in report["charts"]} == {"already-synced"}
    # containerPrefixRegistry: registry replaced, origin host moved into the repository (spec §3.7 b).
    assert values["hive"]["image"]["registry"] == registry.host
    assert values["hive"]["image"]["repository"] == "docker.m.daocloud.io/skoala/hive"
    pushed = _image_ok(tmp_path, registry, "docker.m.daocloud.io/skoala/hive:v0.28.1")
    assert pushed["Digest"] == package.docker_manifest_digests["docker.m.daocloud.io/skoala/hive:v0.28.1"]


def test_chartmuseum_with_prefix_registry(tmp_path: Path, package: OfflinePackage, registry: RegistryProcess) -> None:
    with ChartMuseumDouble(basic_auth=("cm", "cm-pass")) as museum:
        config = write_yaml(
            tmp_path / "load-image.yaml",
            {
                "source": {"intermediateBundlesPath": str(package.path)},
                "target": {
                    "containerPrefixRegistry": registry.host,
                    "repo": {
                        "kind": "CHARTMUSEUM",
                        "url": museum.url,
                        "auth": {"username": "cm", "password": "cm-pass"},
                    },
                },
            },
        )
        code, _report, stderr = _sync(config, "--plain-http")
        assert code == 0, stderr
        assert set(museum.charts) == {"skoala", "skoala-init"}
        values = chart_values(museum.charts["skoala-init"]["0.28.1"], "skoala-init")
    assert values["nacosOperator"]["image"]["registry"] == registry.host
    _image_ok(tmp_path, registry, "docker.m.daocloud.io/skoala/nacos-operator:v0.28.1")


def test_local_with_registry_and_repository(tmp_path: Path, package: OfflinePackage, registry: RegistryProcess) -> None:
    bundles = tmp_path / "offline"
    assert run_cli("unpack", str(package.path), "-o", str(bundles), "-q").code == 0
    charts_dir = tmp_path / "charts"
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(bundles)},
            "target": {
                "containerRegistry": registry.host,
                "containerRepository": "dce/images",
                "repo": {"kind": "LOCAL", "path": str(charts_dir)},
            },
        },
    )
    code, _report, stderr = _sync(config, "--plain-http")
    assert code == 0, stderr
    tgz = (charts_dir / "skoala-0.28.1.tgz").read_bytes()
    values = chart_values(tgz, "skoala")
    # containerRegistry + containerRepository: registry replaced, repository flattened (spec §3.7 a).
    assert values["hive"]["image"]["registry"] == registry.host
    assert values["hive"]["image"]["repository"] == "dce/images/hive"
    index = yaml.safe_load((charts_dir / "index.yaml").read_text())
    assert {e["version"] for e in index["entries"]["skoala"]} == {"0.28.1"}
    _image_ok(tmp_path, registry, "dce/images/hive:v0.28.1")
    _image_ok(tmp_path, registry, "dce/images/seata-server:1.7.1")  # a subchart image


def test_oci_chart_target(tmp_path: Path, package: OfflinePackage, registry: RegistryProcess) -> None:
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {
                "containerPrefixRegistry": registry.host,
                "containerPrefixRepository": "oci-variant",
                "repo": {"kind": "OCI", "url": f"http://{registry.host}/charts"},
            },
        },
    )
    code, _, stderr = _sync(config, "--plain-http")
    assert code == 0, stderr
    raw = run_skopeo(
        tmp_path, "inspect", "--raw", "--tls-verify=false", f"docker://{registry.host}/charts/skoala:0.28.1"
    )
    manifest = json.loads(raw.stdout)
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json"
    _image_ok(tmp_path, registry, "docker.m.daocloud.io/oci-variant/skoala/hive:v0.28.1")


def test_dry_run_writes_nothing(tmp_path: Path, package: OfflinePackage, fresh_registry: RegistryProcess) -> None:
    charts_dir = tmp_path / "charts"
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {
                "containerPrefixRegistry": fresh_registry.host,
                "repo": {"kind": "LOCAL", "path": str(charts_dir)},
            },
        },
    )
    code, report, stderr = _sync(config, "--dry-run")
    assert code == 0, stderr
    targets = {i["target"] for c in report["charts"] for i in c["images"]}
    assert f"{fresh_registry.host}/docker.m.daocloud.io/skoala/hive:v0.28.1" in targets
    assert len(targets) == 8
    assert fresh_registry.request_count("*") == 0
    assert not charts_dir.exists() or not any(charts_dir.iterdir())


def test_unreachable_registry_publishes_nothing(tmp_path: Path, package: OfflinePackage) -> None:
    import socket

    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    charts_dir = tmp_path / "charts"
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {"containerPrefixRegistry": dead, "repo": {"kind": "LOCAL", "path": str(charts_dir)}},
        },
    )
    code, _, stderr = _sync(config, "--plain-http")
    assert code == 1
    *retries, last = stderr.strip().splitlines()
    assert last.startswith(f"skoala-airgap: error: {dead}: unreachable: connection refused"), stderr
    assert all(line.startswith("skoala-airgap: retrying ") for line in retries) and len(retries) == 2
    assert not list(charts_dir.glob("*.tgz"))


def test_chart_with_a_broken_image_is_not_published(tmp_path: Path, registry: RegistryProcess) -> None:
    from skoala_airgap.sources.open import open_source

    pkg = write_offline_package(tmp_path / "pkg", layer_size=2048, seed=7)
    # Corrupt one layer of skoala-init in place: its image fails the digest check, so its chart must wait.
    bundle = next(b for b in open_source(pkg.path).bundles if b.name == "skoala-init")
    region = bundle.images[0].manifest.layers[-1].region
    assert region is not None
    with pkg.path.open("r+b") as handle:
        handle.seek(region.offset + region.size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    charts_dir = tmp_path / "charts"
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(pkg.path)},
            "target": {
                "containerPrefixRegistry": registry.host,
                "containerPrefixRepository": "broken",
                "repo": {"kind": "LOCAL", "path": str(charts_dir)},
            },
        },
    )
    code, report, stderr = _sync(config, "--plain-http")
    assert code == 2  # the package is corrupt: input, not target (a retry would not help)
    status = {c["name"]: c["status"] for c in report["charts"]}
    assert status == {"skoala": "published", "skoala-init": "failed"}
    failed = next(c for c in report["charts"] if c["name"] == "skoala-init")
    assert "does not match" in failed["error"]
    line = stderr.strip().splitlines()[-1]
    assert "skoala-init_0.28.1.bundle.tar!images.tar!" in line and "does not match" in line, stderr
    assert sorted(p.name for p in charts_dir.glob("*.tgz")) == ["skoala-0.28.1.tgz"]


BAD_CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    ("no-source", {"target": {"containerRegistry": "r.example", "repo": {"kind": "LOCAL", "path": "x"}}}, "source"),
    (
        "both",
        {
            "source": {"intermediateBundlesPath": "PKG", "repo": {"kind": "HELM", "url": "https://c.example"}},
            "target": {"containerRegistry": "r.example", "repo": {"kind": "LOCAL", "path": "x"}},
        },
        "intermediateBundlesPath",
    ),
    (
        "unknown-kind",
        {"source": {"intermediateBundlesPath": "PKG"}, "target": {"containerRegistry": "r", "repo": {"kind": "S3"}}},
        "kind",
    ),
    (
        "unknown-field",
        {
            "source": {"intermediateBundlesPath": "PKG"},
            "target": {"containerRegistryy": "r", "repo": {"kind": "LOCAL"}},
        },
        "containerRegistryy",
    ),
    (
        "harbor-url",
        {
            "source": {"intermediateBundlesPath": "PKG"},
            "target": {"containerRegistry": "r.example", "repo": {"kind": "HARBOR", "url": "https://h.example/skoala"}},
        },
        "chartrepo",
    ),
]


@pytest.mark.parametrize(("name", "config", "needle"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configs_exit_2(
    tmp_path: Path, package: OfflinePackage, name: str, config: dict[str, Any], needle: str
) -> None:
    text = json.dumps(config).replace("PKG", str(package.path))
    path = write_yaml(tmp_path / "load-image.yaml", json.loads(text))
    code, _, stderr = _sync(path)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "load-image.yaml" in lines[0], stderr


def test_wrong_chart_credentials_exit_2_and_nothing_published(
    tmp_path: Path, package: OfflinePackage, registry: RegistryProcess
) -> None:
    with ChartMuseumDouble(basic_auth=("cm", "cm-pass")) as museum:
        config = write_yaml(
            tmp_path / "load-image.yaml",
            {
                "source": {"intermediateBundlesPath": str(package.path)},
                "target": {
                    "containerPrefixRegistry": registry.host,
                    "repo": {
                        "kind": "CHARTMUSEUM",
                        "url": museum.url,
                        "auth": {"username": "cm", "password": "nope-123"},
                    },
                },
            },
        )
        code, _, stderr = _sync(config, "--plain-http")
        assert museum.charts == {}
    assert code == 2, stderr
    assert "nope-123" not in stderr


def test_unreachable_chart_repo_exit_1(tmp_path: Path, package: OfflinePackage, registry: RegistryProcess) -> None:
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {
                "containerPrefixRegistry": registry.host,
                "repo": {"kind": "CHARTMUSEUM", "url": "http://127.0.0.1:9"},
            },
        },
    )
    code, _, stderr = _sync(config, "--plain-http")
    assert code == 1, stderr
    assert "Traceback" not in stderr


def test_image_credentials_from_environment(
    tmp_path: Path, package: OfflinePackage, registry_auth: RegistryProcess
) -> None:
    charts_dir = tmp_path / "charts"
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {
                "containerPrefixRegistry": registry_auth.host,
                "repo": {"kind": "LOCAL", "path": str(charts_dir)},
            },
        },
    )
    env = dict(os.environ, TARGET_CONTAINERS_AUTH_USERNAME=TEST_USER, TARGET_CONTAINERS_AUTH_PASSWORD=TEST_PASSWORD)
    code, report, stderr = _sync(config, "--plain-http", env=env)
    assert code == 0, stderr
    assert TEST_PASSWORD not in json.dumps(report) + stderr
    assert (charts_dir / "skoala-0.28.1.tgz").is_file()
