"""Chart publishers against the ChartMuseum and Harbor doubles and a real registry, checked with real helm."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
import requests
import yaml

from fixtures.charts import skoala_chart
from skoala_airgap.charts.archive import ChartFiles
from skoala_airgap.charts.package import package_chart
from skoala_airgap.config.model import Repo, RepoAuth, RepoKind
from skoala_airgap.connection.errors import AuthError
from skoala_airgap.connection.settings import ConnectionSettings, Login, RetryPolicy, Timeouts
from skoala_airgap.destinations.charts import (
    ChartConflictError,
    ChartMuseumPublisher,
    ChartPublisher,
    CredentialsRefusedError,
    HarborNoChartRepoError,
    HarborPublisher,
    LocalPublisher,
    OciPublisher,
    make_publisher,
)
from skoala_airgap.destinations.charts.base import ChartRepoError
from skoala_airgap.errors import InputError, TargetUnreachableError
from skoala_airgap.model import mediatypes as mt
from skoala_airgap.model.descriptor import Descriptor
from skoala_airgap.model.digest import Digest
from skoala_airgap.model.image import Blob
from tests.conftest import TEST_PASSWORD, TEST_USER
from tests.doubles import ChartMuseumDouble, HarborDouble, HarborProject, make_chart_tgz
from tests.helm import helm_python, run_helm, run_helm_python, serve_directory
from tests.infra.registry import RegistryProcess

SECRET = "s3cret-Pa55"


def _tgz(version: str = "0.28.1", values: bytes | None = None) -> bytes:
    return package_chart(ChartFiles(skoala_chart(version), "skoala"), values_yaml=values)


def _round_trip(publisher: ChartPublisher, version: str = "0.28.1") -> None:
    """The contract every publisher keeps: publish, exists, unchanged, conflict, force."""
    tgz, other = _tgz(version), _tgz(version, b"replicas: 2\n")
    assert publisher.exists("skoala", version) is False
    assert publisher.publish("skoala", version, tgz).status == "published"
    assert publisher.exists("skoala", version) is True
    assert publisher.publish("skoala", version, tgz).status == "unchanged"
    with pytest.raises(ChartConflictError, match="--force"):
        publisher.publish("skoala", version, other)
    assert publisher.publish("skoala", version, other, force=True).status == "replaced"
    assert publisher.publish("skoala", version, other, force=True).status == "unchanged"


# ---------------------------------------------------------------------------------------------------------
# LOCAL


def test_local_contract_files_and_index(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    publisher = LocalPublisher(repo)
    _round_trip(publisher)
    path = repo / "skoala-0.28.1.tgz"
    assert path.read_bytes() == _tgz(values=b"replicas: 2\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in repo.iterdir()) == ["index.yaml", "skoala-0.28.1.tgz"]  # no temp files left
    index = yaml.safe_load((repo / "index.yaml").read_text())
    assert index["apiVersion"] == "v1" and "generated" in index
    (entry,) = index["entries"]["skoala"]
    assert entry["urls"] == ["skoala-0.28.1.tgz"] and entry["version"] == "0.28.1" and entry["created"]
    assert entry["digest"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["dependencies"][0] == {
        "name": "contour",
        "version": "10.2.2",
        "repository": "",
        "condition": "contour.enabled",
    }


def test_local_unchanged_does_not_rewrite_the_index(tmp_path: Path) -> None:
    publisher = LocalPublisher(tmp_path)
    publisher.publish("skoala", "0.28.1", _tgz())
    before = (tmp_path / "index.yaml").read_bytes()
    os.utime(tmp_path / "index.yaml", (1, 1))
    assert publisher.publish("skoala", "0.28.1", _tgz()).status == "unchanged"
    assert (tmp_path / "index.yaml").read_bytes() == before
    assert (tmp_path / "index.yaml").stat().st_mtime == 1


def test_local_stray_archives_never_crash(tmp_path: Path) -> None:
    """charts-syncer panics on these names; we index what is a chart and skip the rest."""
    (tmp_path / "junk.tgz").write_bytes(b"not gzip")
    (tmp_path / "odd-name.tgz").write_bytes(make_chart_tgz("odd", "v1.0"))
    (tmp_path / "pre-1.0.0-rc.1.tgz").write_bytes(make_chart_tgz("pre", "1.0.0-rc.1"))
    (tmp_path / "pre-1.0.0.tgz").write_bytes(make_chart_tgz("pre", "1.0.0"))
    publisher = LocalPublisher(tmp_path)
    publisher.publish("skoala", "0.28.1", _tgz())
    assert publisher.skipped == ["junk.tgz"]
    entries = yaml.safe_load((tmp_path / "index.yaml").read_text())["entries"]
    assert sorted(entries) == ["odd", "pre", "skoala"]
    assert entries["odd"][0]["urls"] == ["odd-name.tgz"]
    assert [e["version"] for e in entries["pre"]] == ["1.0.0", "1.0.0-rc.1"]


def test_local_index_is_a_helm_repository(tmp_path: Path) -> None:
    """helm 3.6.2 adds the folder as a repo and pulls from it; Helm 4 reads the index and pulls too."""
    repo = tmp_path / "repo"
    publisher = LocalPublisher(repo)
    publisher.publish("skoala", "0.28.1", _tgz())
    publisher.publish("skoala", "0.29.0", _tgz("0.29.0"))
    with serve_directory(repo) as url:
        home = tmp_path / "h3"
        run_helm(home, "repo", "add", "airgap", url)
        search = run_helm(home, "search", "repo", "airgap/skoala", "--versions").stdout
        assert "0.29.0" in search and "0.28.1" in search
        (tmp_path / "p3").mkdir()
        run_helm(home, "pull", "airgap/skoala", "--version", "0.28.1", "--destination", str(tmp_path / "p3"))
        assert (tmp_path / "p3" / "skoala-0.28.1.tgz").read_bytes() == _tgz()

        index = helm_python().repo_index(url)
        assert [e["version"] for e in index["entries"]["skoala"]] == ["0.29.0", "0.28.1"]
        (tmp_path / "p4").mkdir()
        run_helm_python(tmp_path / "h4", "pull", "skoala", repo_url=url, version="0.29.0", destination=tmp_path / "p4")
        assert (tmp_path / "p4" / "skoala-0.29.0.tgz").read_bytes() == _tgz("0.29.0")


def test_local_unwritable_target_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="LOCAL"):
        LocalPublisher(tmp_path / "file" / "sub").publish("skoala", "0.28.1", _tgz())


# ---------------------------------------------------------------------------------------------------------
# CHARTMUSEUM


def test_chartmuseum_contract_with_basic_auth() -> None:
    with ChartMuseumDouble(basic_auth=("alice", SECRET)) as cm:
        publisher = ChartMuseumPublisher(cm.url, auth=("alice", SECRET))
        _round_trip(publisher)
        assert cm.charts["skoala"]["0.28.1"] == _tgz(values=b"replicas: 2\n")
        posts = [r for r in cm.received if r.method == "POST"]
        assert [p.path for p in posts] == ["/api/charts", "/api/charts"]
        assert "force" not in posts[0].query and "force" in posts[1].query
        assert posts[0].header("Content-Type").startswith("multipart/form-data")
        assert b'name="chart"; filename="skoala-0.28.1.tgz"' in posts[0].body


def test_chartmuseum_keeps_context_path_and_tenant() -> None:
    """charts-syncer would POST to /api/charts here; we follow serverInfo.contextPath like helm cm-push."""
    with ChartMuseumDouble(context_path="/ctx", depth=1) as cm:
        publisher = ChartMuseumPublisher(f"{cm.url}/ctx/team-a")
        assert publisher.upload_url() == f"{cm.url}/ctx/api/team-a/charts"
        assert publisher.publish("skoala", "0.28.1", _tgz()).status == "published"
        assert publisher.exists("skoala", "0.28.1")
        assert cm.charts_of("team-a")["skoala"]["0.28.1"] == _tgz()
        assert "team-a" in publisher.describe() or cm.url in publisher.describe()


def test_chartmuseum_409_is_resolved_by_comparing() -> None:
    """The pre-check misses the chart (index lag, a race); the 409 answer is then judged on the stored bytes."""
    with ChartMuseumDouble() as cm:
        cm.add_chart(_tgz())
        publisher = ChartMuseumPublisher(cm.url, context_path="")
        cm.fail_next(404, method="GET", path_contains="/charts/")
        assert publisher.publish("skoala", "0.28.1", _tgz()).status == "unchanged"
        cm.fail_next(404, method="GET", path_contains="/charts/")
        with pytest.raises(ChartConflictError):
            publisher.publish("skoala", "0.28.1", _tgz(values=b"a: 1\n"))
        cm.fail_next(404, method="GET", path_contains="/charts/")
        assert publisher.publish("skoala", "0.28.1", _tgz(values=b"a: 1\n"), force=True).status == "replaced"


def test_chartmuseum_retries_temporary_failures() -> None:
    with ChartMuseumDouble() as cm:
        publisher = ChartMuseumPublisher(
            cm.url, context_path="", connection=ConnectionSettings(retry=RetryPolicy(backoff=0.01))
        )
        cm.fail_next(503, method="POST")
        cm.drop_next(method="GET")
        assert publisher.publish("skoala", "0.28.1", _tgz()).status == "published"
        assert [r.status for r in cm.requests] == [0, 404, 503, 201]


def test_chartmuseum_refused_credentials_exit_2_without_password() -> None:
    with ChartMuseumDouble(basic_auth=("alice", SECRET)) as cm:
        publisher = ChartMuseumPublisher(cm.url, auth=("alice", "wrong-" + SECRET), context_path="")
        with pytest.raises(CredentialsRefusedError) as caught:
            publisher.publish("skoala", "0.28.1", _tgz())
    assert caught.value.exit_code == 2
    assert "credentials refused" in str(caught.value) and "alice" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_chartmuseum_unreachable() -> None:
    cm = ChartMuseumDouble().start()
    url = cm.url
    cm.stop()
    fast = ConnectionSettings(timeouts=Timeouts(connect=5, read=5), retry=RetryPolicy(retries=1, backoff=0.01))
    publisher = ChartMuseumPublisher(url, connection=fast)
    with pytest.raises(TargetUnreachableError, match="connection refused"):
        publisher.exists("skoala", "0.28.1")


# ---------------------------------------------------------------------------------------------------------
# HARBOR


def _harbor(enabled: bool = True) -> HarborDouble:
    project = HarborProject(public=False, members={"dev": "developer"})
    return HarborDouble({"admin": "Harbor12345", "dev": SECRET}, {"p1": project}, chartrepo_enabled=enabled)


def test_harbor_contract() -> None:
    with _harbor() as harbor:
        publisher = HarborPublisher(f"{harbor.url}/chartrepo/p1", auth=("dev", SECRET))
        assert publisher.upload_url() == f"{harbor.url}/api/chartrepo/p1/charts"
        _round_trip(publisher)
        assert harbor.charts_of("p1")["skoala"]["0.28.1"] == _tgz(values=b"replicas: 2\n")
        assert publisher.chartrepo_available() is True


def test_harbor_ensure_project_and_missing_project() -> None:
    with _harbor() as harbor:
        publisher = HarborPublisher(f"{harbor.url}/chartrepo/p2", auth=("admin", "Harbor12345"))
        with pytest.raises(ChartRepoError, match="'p2' does not exist"):
            publisher.publish("skoala", "0.28.1", _tgz())
        assert publisher.ensure_project() is True
        assert publisher.ensure_project() is False
        assert harbor.projects["p2"].public is False
        assert publisher.publish("skoala", "0.28.1", _tgz()).status == "published"


def test_harbor_28_points_to_oci() -> None:
    with _harbor(enabled=False) as harbor:
        publisher = HarborPublisher(f"{harbor.url}/chartrepo/p1", auth=("dev", SECRET))
        with pytest.raises(HarborNoChartRepoError) as caught:
            publisher.publish("skoala", "0.28.1", _tgz())
        assert publisher.chartrepo_available() is False
        url = harbor.url
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert "Harbor 2.8" in message and "v2.8.0" in message and "kind: OCI" in message
    assert f"{url}/p1" in message


def test_harbor_wrong_password_is_refused_without_secret() -> None:
    """Harbor treats bad credentials as anonymous; the private project then answers 401."""
    with _harbor() as harbor:
        publisher = HarborPublisher(f"{harbor.url}/chartrepo/p1", auth=("dev", "nope-" + SECRET))
        with pytest.raises(CredentialsRefusedError) as caught:
            publisher.exists("skoala", "0.28.1")
    assert "dev" in str(caught.value) and SECRET not in str(caught.value)


# ---------------------------------------------------------------------------------------------------------
# OCI


def _manifest(registry: RegistryProcess, repository: str, tag: str, auth: tuple[str, str] | None = None) -> dict:
    response = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": mt.OCI_MANIFEST},
        auth=auth,
        verify=False,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == mt.OCI_MANIFEST
    return dict(response.json())


def test_oci_contract_and_helm_pulls_the_same_bytes(tmp_path: Path, registry: RegistryProcess) -> None:
    publisher = OciPublisher(f"http://{registry.host}/charts-contract")
    _round_trip(publisher)
    manifest = _manifest(registry, "charts-contract/skoala", "0.28.1")
    assert "mediaType" not in manifest
    assert manifest["config"]["mediaType"] == mt.HELM_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [mt.HELM_CHART_CONTENT]
    annotations = manifest["annotations"]
    assert annotations["org.opencontainers.image.title"] == "skoala"
    assert annotations["org.opencontainers.image.version"] == "0.28.1"
    assert annotations["org.opencontainers.image.authors"] == "skoala-team (skoala@daocloud.io)"
    h = helm_python()
    (tmp_path / "pulled").mkdir()
    h.pull(
        f"oci://{registry.host}/charts-contract/skoala",
        version="0.28.1",
        plain_http=True,
        destination=str(tmp_path / "pulled"),
    )
    assert (tmp_path / "pulled" / "skoala-0.28.1.tgz").read_bytes() == _tgz(values=b"replicas: 2\n")


def test_oci_artifact_matches_helm_push(tmp_path: Path, registry: RegistryProcess) -> None:
    """Same config blob and layer as Helm 4's own ``helm push``; annotations equal except ``created``."""
    tgz = _tgz("1.0.0+build.5")
    path = tmp_path / "skoala-1.0.0+build.5.tgz"
    path.write_bytes(tgz)
    h = helm_python()
    h.push(str(path), f"oci://{registry.host}/by-helm", plain_http=True)
    result = OciPublisher(f"oci://{registry.host}/by-us", connection=ConnectionSettings(plain_http=True)).publish(
        "skoala", "1.0.0+build.5", tgz
    )
    assert result.location == f"{registry.host}/by-us/skoala:1.0.0_build.5"
    ours = _manifest(registry, "by-us/skoala", "1.0.0_build.5")
    helms = _manifest(registry, "by-helm/skoala", "1.0.0_build.5")
    assert ours["config"] == helms["config"] and ours["layers"] == helms["layers"]
    created = "org.opencontainers.image.created"
    assert {k: v for k, v in ours["annotations"].items() if k != created} == {
        k: v for k, v in helms["annotations"].items() if k != created
    }
    assert list(ours) == list(helms)  # field order too


def test_oci_with_auth_and_refused_credentials(tmp_path: Path, registry_auth: RegistryProcess) -> None:
    good = ConnectionSettings(logins=(Login(TEST_USER, TEST_PASSWORD, "test"),))
    publisher = OciPublisher(f"http://{registry_auth.host}/auth", connection=good)
    assert publisher.publish("skoala", "0.28.1", _tgz()).status == "published"
    assert publisher.exists("skoala", "0.28.1")
    h = helm_python()
    (tmp_path / "pulled").mkdir()
    client = h.RegistryClient(plain_http=True, credentials_file=str(tmp_path / "h4" / "registry.json"))
    client.login(registry_auth.host, username=TEST_USER, password=TEST_PASSWORD, plain_http=True)
    h.pull(
        f"oci://{registry_auth.host}/auth/skoala",
        version="0.28.1",
        client=client,
        plain_http=True,
        destination=str(tmp_path / "pulled"),
    )
    assert (tmp_path / "pulled" / "skoala-0.28.1.tgz").read_bytes() == _tgz()

    refused = ConnectionSettings(logins=(Login(TEST_USER, SECRET, "test"),))
    bad = OciPublisher(f"http://{registry_auth.host}/auth", connection=refused)
    with pytest.raises(AuthError) as caught:
        bad.publish("skoala", "0.28.2", _tgz("0.28.2"))
    assert caught.value.exit_code == 2 and SECRET not in str(caught.value)


def test_oci_refuses_to_overwrite_an_image_tag(registry: RegistryProcess) -> None:
    publisher = OciPublisher(f"http://{registry.host}/mixed")
    config = b"{}"
    client = publisher.client
    client.upload_blob("mixed/skoala", Blob(Descriptor(mt.OCI_CONFIG, 2, Digest.of(config)), None, data=config))
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": str(Digest.of(config)), "size": 2},
            "layers": [],
        }
    ).encode()
    client.put_manifest("mixed/skoala", "0.28.1", raw, mt.OCI_MANIFEST)
    assert publisher.exists("skoala", "0.28.1") is False
    with pytest.raises(ChartConflictError, match="not a chart"):
        publisher.publish("skoala", "0.28.1", _tgz())
    assert publisher.publish("skoala", "0.28.1", _tgz(), force=True).status == "replaced"
    assert publisher.exists("skoala", "0.28.1") is True


# ---------------------------------------------------------------------------------------------------------
# factory


def test_make_publisher_by_kind(tmp_path: Path) -> None:
    auth = RepoAuth("u", "p")
    local = make_publisher(Repo(RepoKind.LOCAL, path=tmp_path))
    assert isinstance(local, LocalPublisher) and str(tmp_path) in local.describe()
    cm = make_publisher(Repo(RepoKind.CHARTMUSEUM, url="http://cm:8080", auth=auth))
    assert isinstance(cm, ChartMuseumPublisher) and cm.http.auth == ("u", "p")
    harbor = make_publisher(Repo(RepoKind.HARBOR, url="https://h.example/chartrepo/p1", auth=auth))
    assert isinstance(harbor, HarborPublisher) and harbor.project == "p1"
    assert "https://h.example/api/chartrepo/p1/charts" in harbor.describe()
    oci = make_publisher(Repo(RepoKind.OCI, url="http://reg:5000/charts", auth=auth))
    assert isinstance(oci, OciPublisher) and oci.settings.plain_http  # http:// says plain HTTP
    assert oci.reference("skoala", "1.0.0+b") == "reg:5000/charts/skoala:1.0.0_b"
    assert oci.settings.logins[0].username == "u" and oci.settings.logins[0].host == "reg:5000"
    for kind in (RepoKind.HELM, RepoKind.JFROG):
        with pytest.raises(InputError, match="cannot receive charts"):
            make_publisher(Repo(kind, url="https://x.example"))
