"""Proof that the real-server fixtures work, so failures elsewhere point at our code, not the harness."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
import requests

from tests.conftest import TEST_PASSWORD, TEST_USER
from tests.infra.containerd import ContainerdProcess
from tests.infra.podman import PodmanService, podman_cli
from tests.infra.registry import RegistryProcess, run_skopeo

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_tiny_oci_layout(root: Path, tag: str = "1") -> str:
    """Write a one-layer OCI image layout with the stdlib; return the manifest digest."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> tuple[str, int]:
        digest = _sha256(data)
        (blobs / digest.removeprefix("sha256:")).write_bytes(data)
        return digest, len(data)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        payload = b"hello from skoala-airgap tests\n"
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = len(payload), 0
        tar.addfile(info, io.BytesIO(payload))
    layer_digest, layer_size = put(buf.getvalue())
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }
    config_digest, config_size = put(json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = put(json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return manifest_digest


def test_plain_registry_answers_v2(registry: RegistryProcess) -> None:
    assert registry.url == f"http://{registry.host}"
    assert registry.username is None and registry.tls is None
    resp = registry.session().get(f"{registry.url}/v2/", timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


def test_auth_registry_requires_basic_credentials(registry_auth: RegistryProcess) -> None:
    assert (registry_auth.username, registry_auth.password) == (TEST_USER, TEST_PASSWORD)
    anon = registry_auth.session(authenticated=False).get(f"{registry_auth.url}/v2/", timeout=5)
    assert anon.status_code == 401
    assert anon.headers["WWW-Authenticate"].startswith("Basic ")
    assert registry_auth.session().get(f"{registry_auth.url}/v2/", timeout=5).status_code == 200
    bad = registry_auth.session(authenticated=False).get(
        f"{registry_auth.url}/v2/", auth=(TEST_USER, "wrong"), timeout=5
    )
    assert bad.status_code == 401


def test_tls_registry_needs_its_ca(registry_tls: RegistryProcess) -> None:
    assert registry_tls.tls is not None and registry_tls.url.startswith("https://127.0.0.1:")
    ok = requests.get(
        f"{registry_tls.url}/v2/",
        verify=str(registry_tls.tls.ca_pem),
        auth=(TEST_USER, TEST_PASSWORD),
        timeout=5,
    )
    assert ok.status_code == 200
    system_trust = requests.Session()
    system_trust.trust_env = False  # system CAs only, not the machine's REQUESTS_CA_BUNDLE override
    with pytest.raises(requests.exceptions.SSLError):
        system_trust.get(f"{registry_tls.url}/v2/", timeout=5)


def test_blob_upload_is_counted(fresh_registry: RegistryProcess) -> None:
    reg, s = fresh_registry, fresh_registry.session()
    data = b"counted blob"
    digest = _sha256(data)
    start = s.post(f"{reg.url}/v2/infra/count/blobs/uploads/", timeout=5)
    assert start.status_code == 202
    location = requests.compat.urljoin(reg.url, start.headers["Location"])
    put = s.put(location, params={"digest": digest}, data=data, timeout=5)
    assert put.status_code == 201
    assert s.head(f"{reg.url}/v2/infra/count/blobs/{digest}", timeout=5).status_code == 200

    assert reg.request_count("POST", "/blobs/uploads/") == 1
    assert reg.request_count("PUT", "/blobs/uploads/") == 1
    assert reg.request_count("PUT", f"digest={digest.replace(':', '%3A')}") == 1
    assert reg.request_count("HEAD", digest) == 1
    assert reg.request_count("GET", "/v2/") == 0  # readiness probes and log-sync markers are excluded

    reg.reset()
    assert reg.request_count("*") == 0
    assert s.head(f"{reg.url}/v2/infra/count/blobs/{digest}", timeout=5).status_code == 404


def test_skopeo_copy_and_inspect(registry: RegistryProcess, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    write_tiny_oci_layout(layout, tag="1")
    ref = f"docker://{registry.host}/infra/skopeo:1"
    run_skopeo(tmp_path / "skopeo", "copy", "--preserve-digests", "--dest-tls-verify=false", f"oci:{layout}:1", ref)
    raw = run_skopeo(tmp_path / "skopeo", "inspect", "--raw", "--tls-verify=false", ref).stdout
    manifest = json.loads(raw)
    assert manifest["mediaType"] == OCI_MANIFEST
    assert len(manifest["layers"]) == 1


def test_skopeo_against_tls_auth_registry(registry_tls: RegistryProcess, tmp_path: Path) -> None:
    assert registry_tls.tls is not None
    layout = tmp_path / "layout"
    digest = write_tiny_oci_layout(layout)
    ref = f"docker://{registry_tls.host}/infra/tls:1"
    creds = f"{TEST_USER}:{TEST_PASSWORD}"
    cert_dir = str(registry_tls.tls.ca_cert_dir())
    run_skopeo(
        tmp_path / "skopeo",
        "copy",
        "--preserve-digests",
        "--dest-creds",
        creds,
        "--dest-cert-dir",
        cert_dir,
        f"oci:{layout}:1",
        ref,
    )
    resp = registry_tls.session().head(
        f"{registry_tls.url}/v2/infra/tls/manifests/1", headers={"Accept": OCI_MANIFEST}, timeout=5
    )
    assert resp.status_code == 200
    assert resp.headers["Docker-Content-Digest"] == digest


def test_podman_service_pings_and_cli_sees_same_store(podman_service: PodmanService) -> None:
    assert podman_service.base_url == f"unix://{podman_service.socket_path}"
    assert podman_service.api("GET", "/_ping").body == b"OK"
    version = podman_service.api("GET", "/version").json()
    assert version["ApiVersion"].startswith("1.")
    assert {"CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF"} <= set(podman_service.env)
    images = json.loads(podman_cli(podman_service, "images", "--format", "json").stdout)
    assert isinstance(images, list)


def test_containerd_answers_ctr_version(containerd: ContainerdProcess) -> None:
    out = containerd.ctr("version").stdout
    assert "Server:" in out
    assert containerd.image_names() == []


def test_podman_service_loads_an_oci_archive(podman_service: PodmanService, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    write_tiny_oci_layout(layout, tag="infra-load:1")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.add(layout, arcname=".")
    resp = podman_service.api(
        "POST",
        "/v1.41/images/load?quiet=1",
        body=archive.getvalue(),
        headers={"Content-Type": "application/x-tar"},
    )
    assert resp.status == 200, resp.body
    names = podman_cli(podman_service, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert "localhost/infra-load:1" in names
