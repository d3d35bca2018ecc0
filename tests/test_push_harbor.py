"""push-images into a Harbor: the same project preflight as sync (docs/publishers.md §4), before any write.

The Harbor is ``harbor_with_registry``: the Harbor double (API, token service) fronting a real
``docker-registry`` on one address, so the registry only takes what the token service grants and its
access log shows every request that reached it. Results are judged with skopeo.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.images import make_image, make_layer, write_images_tar
from tests.doubles.harbor import HarborDouble, HarborProject, harbor_with_registry
from tests.helpers import CliResult, run_cli, sample_images
from tests.infra.registry import RegistryProcess, run_skopeo

ADMIN = ("admin", "Harbor12345")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def images_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four images of ``docker.m.daocloud.io/skoala/...``: with ``--registry`` they all go to project ``skoala``."""
    workdir = tmp_path_factory.mktemp("harbor-images")
    return write_images_tar(workdir / "images.tar", sample_images(workdir / "layers"), "ggcr")


def _push(source: Path, host: str, *extra: str, user: tuple[str, str] = ADMIN) -> tuple[CliResult, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_")}
    env["TARGET_CONTAINERS_AUTH_PASSWORD"] = user[1]
    args = ["push-images", str(source), "--username", user[0], "--plain-http", "--json", *extra]
    result = run_cli(*args, *([] if "--prefix-registry" in extra else ["--registry", host]), env=env)
    report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result, report


def _registry_writes(registry: RegistryProcess) -> int:
    return sum(registry.request_count(method) for method in WRITES)


def _only_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("skoala-airgap: error: "), stderr
    return lines[0]


def _skopeo_digest(tmp: Path, ref: str, *creds: str, check: bool = True) -> str | None:
    result = run_skopeo(tmp, "inspect", "--raw", "--tls-verify=false", *creds, f"docker://{ref}", check=check)
    if result.returncode != 0:
        return None
    return f"sha256:{hashlib.sha256(result.stdout.encode()).hexdigest()}"


def _assert_no_cookies(harbor: HarborDouble) -> None:
    assert not [r.path for r in harbor.received if r.header("Cookie")]


def test_missing_project_is_refused_before_any_write(tmp_path: Path, images_tar: Path) -> None:
    with harbor_with_registry(tmp_path, {"admin": ADMIN[1]}, {"library": True}) as (harbor, registry):
        result, _ = _push(images_tar, harbor.host, "-q")
        assert result.code == 2, result.stderr
        line = _only_line(result.stderr)
        assert f"Harbor http://{harbor.host}: missing project 'skoala' (for images)" in line
        assert "nothing was pushed" in line and "--auto-create-repository" in line
        assert ADMIN[1] not in result.stderr
        # Nothing that writes reached Harbor or its registry: no project, no blob, no manifest.
        assert harbor.writes() == [] and _registry_writes(registry) == 0
        assert set(harbor.projects) == {"library"}
        assert not (Path.cwd() / "images.receipt.json").exists()
        _assert_no_cookies(harbor)


@pytest.mark.parametrize("public", [False, True], ids=["private", "public"])
def test_auto_create_repository(tmp_path: Path, images_tar: Path, public: bool) -> None:
    with harbor_with_registry(tmp_path, {"admin": ADMIN[1]}, {"library": True}) as (harbor, registry):
        flags = ["--auto-create-repository", "true", *(["--public"] if public else [])]
        result, report = _push(images_tar, harbor.host, *flags)
        assert result.code == 0, result.stderr
        assert report["projects"] == [
            {
                "harbor": f"http://{harbor.host}",
                "project": "skoala",
                "for": "images",
                "status": "created",
                "public": public,
            }
        ]
        assert harbor.projects["skoala"].public is public
        assert f"created {'public' if public else 'private'} project 'skoala'" in result.stderr
        # The project came first, then the images, which are all in the registry at their digests.
        assert [(r.method, r.path) for r in harbor.writes()[:1]] == [("POST", "/api/v2.0/projects")]
        assert [i["status"] for i in report["images"]] == ["pushed"] * 4
        creds = ("--creds", ":".join(ADMIN))
        for image in report["images"]:
            assert _skopeo_digest(tmp_path, image["target"], *creds) == image["digest"]
        assert registry.request_count("PUT", "/v2/skoala/app0/manifests/v0.0.0") == 1
        # Private means anonymous users cannot pull; public means they can.
        anonymous = _skopeo_digest(tmp_path, report["images"][0]["target"], "--no-creds", check=False)
        assert anonymous == (report["images"][0]["digest"] if public else None)
        _assert_no_cookies(harbor)
        # A rerun finds the project, creates nothing and pushes nothing.
        before = len(harbor.writes())
        again, report = _push(images_tar, harbor.host, "--auto-create-repository")
        assert again.code == 0, again.stderr
        assert [p["status"] for p in report["projects"]] == ["exists"]
        assert {i["status"] for i in report["images"]} == {"unchanged"}
        assert len(harbor.writes()) == before


def test_push_right_is_named_per_project(tmp_path: Path) -> None:
    """Two projects (``--prefix-registry`` keeps each origin host as the project): a developer in one,
    a guest in the other. Only the guest's project is named, and nothing moves."""
    base = make_layer(tmp_path / "layers", 2048, seed="base")
    images = [
        make_image(["docker.m.daocloud.io/skoala/hive:v1"], [base]),
        make_image(["ghcr.io/skoala/sesame:v1"], [base]),
    ]
    source = write_images_tar(tmp_path / "images.tar", images, "ggcr")
    users = {"admin": ADMIN[1], "dev": "dev-pass"}
    projects = {
        "docker.m.daocloud.io": HarborProject(members={"dev": "developer"}),
        "ghcr.io": HarborProject(members={"dev": "guest"}),
    }
    with harbor_with_registry(tmp_path, users, projects) as (harbor, registry):
        result, _ = _push(source, harbor.host, "--prefix-registry", harbor.host, "-q", user=("dev", "dev-pass"))
        assert result.code == 2, result.stderr
        line = _only_line(result.stderr)
        assert "user 'dev' may not push to project 'ghcr.io'" in line
        assert "docker.m.daocloud.io" not in line
        assert "dev-pass" not in result.stderr
        assert harbor.writes() == [] and _registry_writes(registry) == 0
        # --auto-create-repository cannot help: both projects exist, the right is missing.
        flags = ("--prefix-registry", harbor.host, "--auto-create-repository", "-q")
        result, _ = _push(source, harbor.host, *flags, user=("dev", "dev-pass"))
        assert result.code == 2 and "may not push to project 'ghcr.io'" in _only_line(result.stderr)
        assert harbor.writes() == [] and _registry_writes(registry) == 0
        # An account with the right (admin) pushes both.
        result, _ = _push(source, harbor.host, "--prefix-registry", harbor.host, "-q")
        assert result.code == 0, result.stderr
        assert registry.request_count("PUT", "/v2/ghcr.io/skoala/sesame/manifests/v1") == 1


def test_plain_registry_has_no_preflight(tmp_path: Path, images_tar: Path, fresh_registry: RegistryProcess) -> None:
    """A docker-registry is not a Harbor: one systeminfo probe (404), no project calls, the push as before;
    a config's ``containers.kind: HARBOR`` then earns a warning, and the flags change nothing."""
    config = tmp_path / "load-image.yaml"
    target = {"containerRegistry": fresh_registry.host, "containers": {"kind": "HARBOR"}}
    target["repo"] = {"kind": "LOCAL", "path": str(tmp_path / "charts")}
    config.write_text(yaml.safe_dump({"source": {"intermediateBundlesPath": str(images_tar)}, "target": target}))
    args = [str(images_tar), "--config", str(config), "--plain-http", "--json", "--auto-create-repository"]
    result = run_cli("push-images", *args)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["projects"] == [] and [i["status"] for i in report["images"]] == ["pushed"] * 4
    assert f"{fresh_registry.host} does not answer Harbor's /api/v2.0/systeminfo" in result.stderr
    api = [(e.method, e.uri, e.status) for e in fresh_registry.access_log() if not e.uri.startswith("/v2")]
    assert api == [("GET", "/api/v2.0/systeminfo", 404)]
    for image in report["images"]:
        assert _skopeo_digest(tmp_path, image["target"]) == image["digest"]
    # Without a config: no warning, same push (everything is there already).
    result = run_cli("push-images", str(images_tar), "--registry", fresh_registry.host, "--plain-http", "--json")
    assert result.code == 0, result.stderr
    assert "warning" not in result.stderr
    assert {i["status"] for i in json.loads(result.stdout)["images"]} == {"unchanged"}
