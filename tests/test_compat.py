"""charts-syncer compatibility (issue 11): the vendor's command line and configs work unchanged.

Covered here: charts-syncer's boolean flag forms on every command; the scheme choice (HTTPS first, plain
HTTP for loopback/RFC 1918 or --insecure, one line per host); the 404 index.yaml decision; the Harbor
preflight (projects checked, created private with --auto-create-repository, refused in one line without
it, nothing pushed before it passed, permissions named per project, robot$ names from every credential
source, no cookies); --platform, --print-images, --latest-version-only, --verify, -g/--generate-config,
version, the refused online-only inputs; and the vendor's three load-image.yaml samples with
``sync --config load-image.yaml --insecure true`` against a real plain-HTTP registry on loopback plus the
ChartMuseum and Harbor doubles, judged with skopeo and by reading the published charts.

docs/config.md ("charts-syncer compatibility") maps every charts-syncer flag and config field to a test.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from fixtures.bundles import OfflinePackage, write_offline_package
from fixtures.images import make_multiarch_image, write_oci_layout
from skoala_airgap.cli.main import cli, normalise_bool_flags
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.destinations.connect import schemes_for
from tests.doubles.chartmuseum import ChartMuseumDouble
from tests.doubles.harbor import HarborDouble, HarborProject, harbor_with_registry
from tests.helpers import chart_values, run_cli, write_yaml
from tests.infra.registry import RegistryProcess, run_skopeo

ADMIN = ("admin", "Harbor12345")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
HIVE = "docker.m.daocloud.io/skoala/hive:v0.28.1"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> OfflinePackage:
    return write_offline_package(tmp_path_factory.mktemp("pkg"), layer_size=2048)


def _vendor(config: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """The vendor's command line, word for word, plus --json to judge the result."""
    result = run_cli("sync", "--config", str(config), "--insecure", "true", "--json", *extra, env=env)
    report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result.code, report, result.stderr


def _writes(registry: RegistryProcess) -> int:
    return sum(registry.request_count(method) for method in WRITES)


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.startswith("skoala-airgap: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def _scheme_lines(stderr: str, host: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"skoala-airgap: {host}: using ")]


# ------------------------------------------------------------------------------------------------------------
# 1. Boolean flags in charts-syncer's (Go pflag) forms, on every command that has them
# ------------------------------------------------------------------------------------------------------------


def _commands() -> Iterator[tuple[list[str], click.Command]]:
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                subcommand = command.get_command(ctx, sub)
                assert subcommand is not None
                yield [name, sub], subcommand
        else:
            yield [name], command


BOOL_FLAGS = ("--insecure", "--dry-run", "--plain-http", "--skip-images", "--auto-create-repository")


def test_go_bool_forms_on_every_command() -> None:
    seen: set[str] = set()
    for path, command in _commands():
        flags = {o for p in command.params if isinstance(p, click.Option) and p.is_flag for o in p.opts}
        for flag in set(BOOL_FLAGS) & flags:
            seen.add(flag)
            base = [*path, "--config", "load-image.yaml"]
            assert normalise_bool_flags([*base, flag, "true"]) == [*base, flag], (path, flag)
            assert normalise_bool_flags([*base, flag, "TRUE"]) == [*base, flag]
            assert normalise_bool_flags([*base, flag, "false"]) == base
            assert normalise_bool_flags([*base, f"{flag}=true"]) == [*base, flag]
            assert normalise_bool_flags([*base, f"{flag}=False"]) == base
            assert normalise_bool_flags([*base, flag]) == [*base, flag]  # click's own form still works
            with pytest.raises(click.BadParameter):
                normalise_bool_flags([*base, f"{flag}=maybe"])
    assert {"--insecure", "--dry-run", "--auto-create-repository"} <= seen
    # The commands that reach registries or chart repositories all have --insecure.
    with_insecure = {" ".join(p) for p, c in _commands() if any("--insecure" in x.opts for x in c.params)}
    assert {"sync", "push-images", "verify"} <= with_insecure


def test_dry_run_true_contacts_nothing(
    tmp_path: Path, package: OfflinePackage, fresh_registry: RegistryProcess
) -> None:
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {"containerPrefixRegistry": fresh_registry.host, "repo": {"kind": "LOCAL", "path": "out"}},
        },
    )
    for form in (["--dry-run", "true"], ["--dry-run=true"]):
        code, report, stderr = _vendor(config, *form)
        assert code == 0, stderr
        assert {c["status"] for c in report["charts"]} == {"planned"}
    pushed = run_cli("push-images", str(package.path), "--registry", fresh_registry.host, "--dry-run", "true")
    assert pushed.code == 0, pushed.stderr
    assert fresh_registry.request_count("*") == 0


# ------------------------------------------------------------------------------------------------------------
# 2. Scheme selection as go-containerregistry does it
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "insecure", "plain", "expected"),
    [
        ("harbor.example.com", False, False, ["https"]),
        ("8.8.8.8:5000", False, False, ["https"]),
        ("172.32.0.1", False, False, ["https"]),  # just outside 172.16.0.0/12
        ("10.16.10.111", False, False, ["https", "http"]),  # the vendor's Harbor: RFC 1918
        ("172.20.0.5:5000", False, False, ["https", "http"]),
        ("192.168.1.10", False, False, ["https", "http"]),
        ("127.0.0.1:5000", False, False, ["https", "http"]),
        ("localhost:5000", False, False, ["https", "http"]),
        ("[::1]:5000", False, False, ["https", "http"]),
        ("harbor.example.com", True, False, ["https", "http"]),  # --insecure allows the fallback anywhere
        ("harbor.example.com", False, True, ["http"]),  # --plain-http forces HTTP
        ("10.16.10.111", True, True, ["http"]),
    ],
)
def test_scheme_order(host: str, insecure: bool, plain: bool, expected: list[str]) -> None:
    assert schemes_for(host, ConnectionSettings(insecure=insecure, plain_http=plain)) == expected


def test_scheme_said_once_per_host(tmp_path: Path, package: OfflinePackage, registry: RegistryProcess) -> None:
    # Images and OCI charts go to the same loopback registry: it is opened twice, said once.
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {
                "containerPrefixRegistry": registry.host,
                "containerPrefixRepository": "scheme",
                "repo": {"kind": "OCI", "url": f"https://{registry.host}/scheme-charts"},
            },
        },
    )
    code, _, stderr = _vendor(config)
    assert code == 0, stderr
    lines = _scheme_lines(stderr, registry.host)
    assert len(lines) == 1 and "using plain HTTP (HTTPS failed: " in lines[0], stderr
    assert "TLS certificate verification is off" not in stderr  # HTTPS was not what got used
    forced = run_cli("sync", "--config", str(config), "--plain-http", "-q")
    assert forced.code == 0, forced.stderr
    told = run_cli("sync", "--config", str(config), "--plain-http")
    expected = f"skoala-airgap: {registry.host}: using plain HTTP (--plain-http)"
    assert _scheme_lines(told.stderr, registry.host) == [expected]


def test_https_first_with_insecure(tmp_path: Path, registry_tls: RegistryProcess) -> None:
    from fixtures.images import write_images_tar
    from tests.helpers import sample_images

    source = write_images_tar(tmp_path / "images.tar", sample_images(tmp_path / "layers", count=1), "oci")
    env = dict(
        os.environ,
        TARGET_CONTAINERS_AUTH_USERNAME=str(registry_tls.username),
        TARGET_CONTAINERS_AUTH_PASSWORD=str(registry_tls.password),
    )
    args = ["push-images", str(source), "--registry", registry_tls.host, "--prefix-repository", "tls-insecure"]
    result = run_cli(*args, "--insecure=true", env=env)
    assert result.code == 0, result.stderr
    assert _scheme_lines(result.stderr, registry_tls.host) == [
        f"skoala-airgap: {registry_tls.host}: using HTTPS without certificate verification (--insecure)"
    ]


# ------------------------------------------------------------------------------------------------------------
# 3. A 404 index.yaml: an empty repository only where the server proves it is one
# ------------------------------------------------------------------------------------------------------------


def test_404_index_is_empty_only_on_a_confirmed_chartmuseum(
    tmp_path: Path, package: OfflinePackage, registry: RegistryProcess, fresh_registry: RegistryProcess
) -> None:
    with ChartMuseumDouble() as museum:
        museum.fail_next(404, times=20, method="GET", path_contains="index.yaml")
        config = write_yaml(
            tmp_path / "cm.yaml",
            {
                "source": {"intermediateBundlesPath": str(package.path)},
                "target": {
                    "containerPrefixRegistry": registry.host,
                    "repo": {"kind": "CHARTMUSEUM", "url": museum.url},
                },
            },
        )
        code, _, stderr = _vendor(config)
        assert code == 0, stderr
        assert "404, and the server is a CHARTMUSEUM repository: starting from an empty index" in stderr
        assert set(museum.charts) == {"skoala", "skoala-init"}
        assert ("GET", "/health", 200) in museum.requests
    # A server that is not a chart repository (a registry answers 404 to /index.yaml and /health): abort
    # before anything is written, instead of filling a wrong URL.
    wrong = write_yaml(
        tmp_path / "wrong.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {
                "containerPrefixRegistry": fresh_registry.host,
                "repo": {"kind": "CHARTMUSEUM", "url": f"http://{fresh_registry.host}/charts"},
            },
        },
    )
    code, _, stderr = _vendor(wrong)
    assert code == 1, stderr
    assert "HTTP 404" in _error_line(stderr) and "not confirmed" in _error_line(stderr)
    assert _writes(fresh_registry) == 0


def test_404_index_on_harbor_needs_its_systeminfo(tmp_path: Path, package: OfflinePackage) -> None:
    from skoala_airgap.destinations.charts import HarborPublisher

    with HarborDouble({"admin": ADMIN[1]}, {"skoala": HarborProject()}) as harbor:
        harbor.fail_next(404, times=5, method="GET", path_contains="/chartrepo/skoala/index.yaml", body={"error": "x"})
        publisher = HarborPublisher(f"{harbor.url}/chartrepo/skoala", auth=ADMIN)
        assert publisher.index() == {"apiVersion": "v1", "entries": {}}  # with_chartmuseum: true
    with HarborDouble({"admin": ADMIN[1]}, {"skoala": HarborProject()}) as harbor:
        harbor.fail_next(404, times=5, method="GET", path_contains="/chartrepo/skoala/index.yaml", body={"error": "x"})
        anonymous = HarborPublisher(f"{harbor.url}/chartrepo/skoala")  # sees no with_chartmuseum: not confirmed
        with pytest.raises(Exception, match="not confirmed"):
            anonymous.index()


# ------------------------------------------------------------------------------------------------------------
# 4. Harbor preflight
# ------------------------------------------------------------------------------------------------------------


def _harbor_config(path: Path, package: OfflinePackage, harbor: HarborDouble, **target: Any) -> Path:
    """The vendor's HARBOR sample: one Harbor address for images (containerPrefixRegistry) and charts."""
    repo: dict[str, Any] = {"kind": "HARBOR", "url": f"http://{harbor.host}/chartrepo/skoala"}
    repo["auth"] = target.pop("repo_auth", {"username": ADMIN[0], "password": ADMIN[1]})
    containers = target.pop("containers", {"auth": {"username": ADMIN[0], "password": ADMIN[1]}})
    body: dict[str, Any] = {"containerPrefixRegistry": harbor.host, "repo": repo}
    if containers is not None:
        body["containers"] = containers
    return write_yaml(path, {"source": {"intermediateBundlesPath": str(package.path)}, "target": {**body, **target}})


def _assert_no_cookies(harbor: HarborDouble) -> None:
    sent = [r for r in harbor.received if r.header("Cookie")]
    assert not sent, [r.path for r in sent]


def test_missing_project_is_refused_and_nothing_is_pushed(tmp_path: Path, package: OfflinePackage) -> None:
    with harbor_with_registry(tmp_path, {"admin": ADMIN[1]}, {"library": True}) as (harbor, registry):
        config = _harbor_config(tmp_path / "load-image.yaml", package, harbor)
        code, _, stderr = _vendor(config)
        assert code == 2, stderr
        line = _error_line(stderr)
        assert "missing project 'docker.m.daocloud.io' (for images), 'skoala' (for charts)" in line
        assert "--auto-create-repository" in line and "nothing was pushed" in line
        assert harbor.writes() == [] and _writes(registry) == 0
        assert set(harbor.projects) == {"library"}
        _assert_no_cookies(harbor)


@pytest.mark.parametrize("public", [False, True], ids=["private", "public"])
def test_auto_create_repository(tmp_path: Path, package: OfflinePackage, public: bool) -> None:
    with harbor_with_registry(tmp_path, {"admin": ADMIN[1]}, {"library": True}) as (harbor, registry):
        config = _harbor_config(tmp_path / "load-image.yaml", package, harbor)
        flags = ["--auto-create-repository", "true", *(["--public"] if public else [])]
        code, report, stderr = _vendor(config, *flags)
        assert code == 0, stderr
        assert {p["project"]: (p["status"], p.get("public")) for p in report["projects"]} == {
            "docker.m.daocloud.io": ("created", public),
            "skoala": ("created", public),
        }
        assert harbor.projects["docker.m.daocloud.io"].public is public
        assert harbor.projects["skoala"].public is public
        kind = "public" if public else "private"
        assert f"created {kind} project 'docker.m.daocloud.io'" in stderr
        # The first writes were the two projects, before any blob or chart.
        first = [(r.method, r.path) for r in harbor.writes()[:2]]
        assert first == [("POST", "/api/v2.0/projects"), ("POST", "/api/v2.0/projects")]
        assert set(harbor.charts_of("skoala")) == {"skoala", "skoala-init"}
        assert registry.request_count("PUT", "/v2/docker.m.daocloud.io/skoala/hive/manifests/v0.28.1") == 1
        _assert_no_cookies(harbor)
        # A rerun finds the projects there and creates nothing.
        again, report, stderr = _vendor(config, "--auto-create-repository")
        assert again == 0, stderr
        assert {p["status"] for p in report["projects"]} == {"exists"}


def test_permission_is_named_per_project(tmp_path: Path, package: OfflinePackage) -> None:
    users = {"admin": ADMIN[1], "dev": "dev-pass"}
    projects = {
        "skoala": HarborProject(members={"dev": "developer"}),
        "docker.m.daocloud.io": HarborProject(members={"dev": "guest"}),
    }
    with harbor_with_registry(tmp_path, users, projects) as (harbor, registry):
        dev = {"username": "dev", "password": "dev-pass"}
        config = _harbor_config(tmp_path / "load-image.yaml", package, harbor, repo_auth=dev, containers={"auth": dev})
        code, _, stderr = _vendor(config, "--auto-create-repository")
        assert code == 2, stderr
        line = _error_line(stderr)
        assert "user 'dev' may not push to project 'docker.m.daocloud.io'" in line
        assert "'skoala'" not in line.split("may not push", 1)[1]  # only the project at fault is named
        assert "dev-pass" not in stderr
        assert harbor.writes() == [] and _writes(registry) == 0
        # Wrong credentials: refused (exit 2) at the first contact, the registry's token service, in one line.
        wrong = {"username": "dev", "password": "nope-nope"}
        config = _harbor_config(tmp_path / "wrong.yaml", package, harbor, repo_auth=wrong, containers={"auth": wrong})
        code, _, stderr = _vendor(config)
        assert code == 2 and "refused the credentials" in _error_line(stderr)
        assert "nope-nope" not in stderr
        assert harbor.writes() == [] and _writes(registry) == 0


def test_harbor_api_refuses_wrong_credentials_by_name(tmp_path: Path) -> None:
    from skoala_airgap.destinations.harbor_api import HarborApi, HarborAuthError

    with HarborDouble({"admin": ADMIN[1], "dev": "dev-pass"}, {"skoala": HarborProject()}) as harbor:
        api = HarborApi(harbor.url, auth=("dev", "nope-nope"), who="target.repo.auth")
        assert api.systeminfo() is not None  # anonymous callers see Harbor too
        with pytest.raises(HarborAuthError) as caught:
            api.project_exists("skoala")
        assert "credentials refused (HTTP 401) for user 'dev'; check target.repo.auth" in str(caught.value)
        assert caught.value.exit_code == 2 and "nope-nope" not in str(caught.value)
        assert HarborApi(harbor.url, auth=ADMIN).project_exists("skoala") is True
        assert HarborApi(harbor.url, auth=ADMIN).project_exists("ghost") is False
        plain = HarborApi(f"http://{harbor.host}/not-harbor", auth=None)
        assert plain.systeminfo() is None


@pytest.mark.parametrize("where", ["env", "config", "docker-config"])
def test_robot_accounts_with_dollar(tmp_path: Path, package: OfflinePackage, where: str) -> None:
    robot, secret = "robot$ci", "Robot-S3cret"
    projects = {
        "skoala": HarborProject(members={robot: "maintainer"}),
        "docker.m.daocloud.io": HarborProject(members={robot: "maintainer"}),
    }
    with harbor_with_registry(tmp_path, {"admin": ADMIN[1], robot: secret}, projects) as (harbor, registry):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TARGET_", "DOCKER_CONFIG"))}
        login = {"username": robot, "password": secret}
        containers: dict[str, Any] | None = None
        repo_auth: dict[str, Any] | None = login
        if where == "env":
            env.update(
                TARGET_CONTAINERS_AUTH_USERNAME=robot,
                TARGET_CONTAINERS_AUTH_PASSWORD=secret,
                TARGET_REPO_AUTH_USERNAME=robot,
                TARGET_REPO_AUTH_PASSWORD=secret,
            )
            repo_auth = {"username": "placeholder", "password": "placeholder"}  # the environment wins
        elif where == "config":
            containers = {"auth": login}
        else:  # images: docker's config.json (base64 "robot$ci:secret"); charts: target.repo.auth
            docker = tmp_path / "docker"
            docker.mkdir()
            token = base64.b64encode(f"{robot}:{secret}".encode()).decode()
            (docker / "config.json").write_text(json.dumps({"auths": {harbor.host: {"auth": token}}}))
            env["DOCKER_CONFIG"] = str(docker)
        env.setdefault("DOCKER_CONFIG", str(tmp_path / "empty-docker"))
        config = _harbor_config(
            tmp_path / "load-image.yaml", package, harbor, repo_auth=repo_auth, containers=containers
        )
        code, report, stderr = _vendor(config, env=env)
        assert code == 0, stderr
        assert {p["status"] for p in report["projects"]} == {"exists"}
        assert secret not in stderr + json.dumps(report)
        users = {r.header("Authorization") for r in harbor.received if r.path.startswith("/api/v2.0/projects")}
        assert users == {"Basic " + base64.b64encode(f"{robot}:{secret}".encode()).decode()}
        assert set(harbor.charts_of("skoala")) == {"skoala", "skoala-init"}
        assert registry.request_count("PUT", "/v2/docker.m.daocloud.io/skoala/hive/manifests/v0.28.1") == 1


def test_harbor_28_oci_charts_share_the_preflight(tmp_path: Path, package: OfflinePackage) -> None:
    """Harbor >= 2.8 has no chartrepo: charts go as OCI artifacts into a project of the same Harbor."""
    with harbor_with_registry(tmp_path, {"admin": ADMIN[1]}, {"library": True}, chartrepo_enabled=False) as (
        harbor,
        registry,
    ):
        login = {"username": ADMIN[0], "password": ADMIN[1]}
        config = write_yaml(
            tmp_path / "load-image.yaml",
            {
                "source": {"intermediateBundlesPath": str(package.path)},
                "target": {
                    "containerPrefixRegistry": harbor.host,
                    "repo": {"kind": "OCI", "url": f"http://{harbor.host}/skoala-charts", "auth": login},
                    "containers": {"auth": login},
                },
            },
        )
        code, _, stderr = _vendor(config)
        assert code == 2, stderr
        assert "missing project 'docker.m.daocloud.io' (for images), 'skoala-charts' (for charts)" in stderr
        assert harbor.writes() == [] and _writes(registry) == 0
        code, report, stderr = _vendor(config, "--auto-create-repository")
        assert code == 0, stderr
        assert {p["project"] for p in report["projects"] if p["status"] == "created"} == {
            "docker.m.daocloud.io",
            "skoala-charts",
        }
        ref = f"docker://{harbor.host}/skoala-charts/skoala:0.28.1"
        raw = run_skopeo(tmp_path, "inspect", "--raw", "--tls-verify=false", "--creds", ":".join(ADMIN), ref)
        assert json.loads(raw.stdout)["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json"


def test_containers_kind_harbor_on_a_plain_registry_warns(
    tmp_path: Path, package: OfflinePackage, fresh_registry: RegistryProcess
) -> None:
    """Images to a real docker-registry, charts to the Harbor double (test_sync's pairing): the preflight
    concerns the Harbor side only; containers.kind HARBOR cannot make a plain registry a Harbor."""
    with HarborDouble({"admin": ADMIN[1]}, {"library": True}) as harbor:
        config = write_yaml(
            tmp_path / "load-image.yaml",
            {
                "source": {"intermediateBundlesPath": str(package.path)},
                "target": {
                    "containerPrefixRegistry": fresh_registry.host,
                    "repo": {
                        "kind": "HARBOR",
                        "url": f"{harbor.url}/chartrepo/skoala",
                        "auth": {"username": ADMIN[0], "password": ADMIN[1]},
                    },
                    "containers": {"kind": "HARBOR"},
                },
            },
        )
        code, _, stderr = _vendor(config)
        assert code == 2 and "missing project 'skoala' (for charts)" in _error_line(stderr)
        assert harbor.writes() == [] and _writes(fresh_registry) == 0
        code, report, stderr = _vendor(config, "--auto-create-repository")
        assert code == 0, stderr
        assert report["projects"] == [
            {"harbor": harbor.url, "project": "skoala", "for": "charts", "status": "created", "public": False}
        ]
        assert f"{fresh_registry.host} does not answer Harbor's /api/v2.0/systeminfo" in stderr
        assert harbor.projects["skoala"].public is False


# ------------------------------------------------------------------------------------------------------------
# 5. Flags charts-syncer has: --print-images, --platform, --latest-version-only, --verify, -g, version
# ------------------------------------------------------------------------------------------------------------


def test_print_images(tmp_path: Path, package: OfflinePackage, fresh_registry: RegistryProcess) -> None:
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {"containerPrefixRegistry": fresh_registry.host, "repo": {"kind": "LOCAL", "path": "out"}},
        },
    )
    result = run_cli("sync", "--config", str(config), "--print-images")
    assert result.code == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(set(package.image_refs))
    listed = json.loads(run_cli("sync", "-c", str(config), "--print-images", "--json").stdout)
    hive = next(i for i in listed["images"] if i["source"] == HIVE)
    assert hive["target"] == f"{fresh_registry.host}/{HIVE}" and hive["chart"] == "skoala 0.28.1"
    assert fresh_registry.request_count("*") == 0 and not (tmp_path / "out").exists()


def test_platform_selects_one_manifest_of_an_index(tmp_path: Path, registry: RegistryProcess) -> None:
    multi = make_multiarch_image(tmp_path / "layers", ["docker.m.daocloud.io/skoala/multi:v1"])
    layout = write_oci_layout(tmp_path / "oci.tar", [], multiarch=[multi], ref_name_style="full")
    arm = next(v for v in multi.variants if v.architecture == "arm64")
    args = ["push-images", str(layout), "--registry", registry.host, "--insecure", "true"]
    picked = run_cli(*args, "--prefix-repository", "one-platform", "--platform", "linux/arm64")
    assert picked.code == 0, picked.stderr
    ref = f"docker://{registry.host}/one-platform/skoala/multi:v1"
    raw = json.loads(run_skopeo(tmp_path, "inspect", "--raw", "--tls-verify=false", ref).stdout)
    assert "manifests" not in raw and raw["config"]["digest"] == arm.config_digest
    digest = json.loads(run_skopeo(tmp_path, "inspect", "--tls-verify=false", ref).stdout)["Digest"]
    assert digest == arm.oci_manifest_digest()
    whole = run_cli(*args, "--prefix-repository", "all-platforms")
    assert whole.code == 0, whole.stderr
    index = f"docker://{registry.host}/all-platforms/skoala/multi:v1"
    assert "manifests" in json.loads(run_skopeo(tmp_path, "inspect", "--raw", "--tls-verify=false", index).stdout)
    missing = run_cli(*args, "--platform", "linux/s390x")
    assert missing.code == 2
    line = _error_line(missing.stderr)
    assert "no linux/s390x image in its index" in line and "linux/arm64" in line
    bad = run_cli(*args, "--platform", "amd64")
    assert bad.code == 2 and "--platform" in _error_line(bad.stderr)


def test_platform_on_sync_and_bundles(tmp_path: Path, package: OfflinePackage) -> None:
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {"containerRegistry": "10.16.10.111", "repo": {"kind": "LOCAL", "path": "out"}},
        },
    )
    # Bundles hold one platform per image (charts-syncer pulled with --platform): nothing to select.
    code, report, stderr = _vendor(config, "--dry-run", "--platform", "linux/amd64")
    assert code == 0, stderr
    assert len({i["target"] for c in report["charts"] for i in c["images"]}) == 8


def test_latest_version_only_and_verify(tmp_path: Path, package: OfflinePackage) -> None:
    bundles = tmp_path / "bundles"
    newer = write_offline_package(tmp_path / "newer", "0.29.0", layer_size=1024)
    for pkg in (package.path, newer.path):
        assert run_cli("unpack", str(pkg), "-o", str(bundles), "-q", "--force").code == 0
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(bundles)},
            "target": {"containerRegistry": "10.16.10.111", "repo": {"kind": "LOCAL", "path": "out"}},
        },
    )
    code, report, stderr = _vendor(config, "--dry-run", "--latest-version-only")
    assert code == 0, stderr
    assert {(c["name"], c["version"]) for c in report["charts"]} == {("skoala", "0.29.0"), ("skoala-init", "0.29.0")}
    code, report, stderr = _vendor(config, "--dry-run")
    assert len(report["charts"]) == 4
    listed = dict(yaml.safe_load(config.read_text()))
    listed["charts"] = [{"name": "skoala", "versions": ["0.28.1", "0.29.0"]}, {"name": "skoala-init"}]
    write_yaml(config, listed)
    ok = run_cli("sync", "--config", str(config), "--verify")
    assert (ok.code, ok.stdout.strip()) == (0, "verify success!"), ok.stderr
    listed["charts"] = [{"name": "skoala", "versions": ["0.30.0"]}, {"name": "insight-agent"}]
    write_yaml(config, listed)
    missing = run_cli("sync", "--config", str(config), "--verify")
    assert missing.code == 2
    assert "skoala 0.30.0" in _error_line(missing.stderr) and "insight-agent" in _error_line(missing.stderr)


def test_chart_selection_fields_and_skip_images(tmp_path: Path, package: OfflinePackage) -> None:
    base = {
        "source": {"intermediateBundlesPath": str(package.path)},
        "target": {"containerRegistry": "10.16.10.111", "repo": {"kind": "LOCAL", "path": "out"}},
    }

    def planned(config: dict[str, Any], *extra: str) -> dict[str, int]:
        code, report, stderr = _vendor(write_yaml(tmp_path / "load-image.yaml", config), "--dry-run", *extra)
        assert code == 0, stderr
        return {c["name"]: len(c["images"]) for c in report["charts"]}

    assert planned({**base, "skipCharts": ["skoala-init"]}) == {"skoala": 4}
    per_chart = [{"name": "skoala", "skipImages": True}, {"name": "skoala-init", "versions": ["0.28.1"]}]
    assert planned({**base, "charts": per_chart}) == {"skoala": 0, "skoala-init": 4}
    assert planned(base, "--skip-images", "true") == {"skoala": 0, "skoala-init": 0}
    assert planned(base, "--skip-images=false") == {"skoala": 4, "skoala-init": 4}


def test_fields_without_effect_on_a_load_are_accepted(tmp_path: Path, package: OfflinePackage) -> None:
    """Fields charts-syncer reads but a bundle load does not use: accepted, the run is unchanged."""
    from skoala_airgap.config.model import RepoKind
    from skoala_airgap.config.reader import load_config

    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path), "containers": {"kind": "HARBOR"}},
            "target": {
                "containerRegistry": "10.16.10.111",
                "repoName": "vendor-repo",
                "repo": {"kind": "LOCAL", "path": "out", "useChartsIndex": True, "chartsIndex": "h/p/idx:latest"},
                "containers": {"kind": "JFROG"},
            },
            "relocateContainerImages": True,
        },
    )
    loaded = load_config(config)
    assert loaded.source.containers is not None and loaded.source.containers.kind is RepoKind.HARBOR
    code, report, stderr = _vendor(config, "--dry-run")
    assert code == 0, stderr
    assert {c["status"] for c in report["charts"]} == {"planned"}


def test_repo_source_flags_and_source_repo(tmp_path: Path, package: OfflinePackage) -> None:
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {"containerRegistry": "10.16.10.111", "repo": {"kind": "LOCAL", "path": "out"}},
        },
    )
    accepted = run_cli("sync", "-c", str(config), "--dry-run", "--skip-dependencies", "--workdir", str(tmp_path))
    assert accepted.code == 0, accepted.stderr
    assert "--workdir" in accepted.stderr and "ignored" in accepted.stderr
    dated = run_cli("sync", "-c", str(config), "--from-date", "2020-05-01")
    assert dated.code == 2 and "--from-date 2020-05-01: bundles carry no publish date" in _error_line(dated.stderr)
    online = write_yaml(
        tmp_path / "online.yaml",
        {
            "source": {"repo": {"kind": "HELM", "url": "https://charts.example.com/stable"}},
            "target": {"containerRegistry": "10.16.10.111", "repo": {"kind": "LOCAL", "path": "out"}},
        },
    )
    for extra in ([], ["--print-images"], ["--verify"]):
        refused = run_cli("sync", "--config", str(online), "--insecure", "true", *extra)
        assert refused.code == 2, refused.stderr
        line = _error_line(refused.stderr)
        assert "source.repo" in line and "is not supported" in line and "intermediateBundlesPath" in line
        assert "Traceback" not in refused.stderr


def test_generate_config(tmp_path: Path, package: OfflinePackage) -> None:
    target = tmp_path / "load-image.yaml"
    result = run_cli("-g", str(target))
    assert result.code == 0, result.stderr
    text = target.read_text()
    assert text.startswith("# Default load-image.yaml") and "kind: HARBOR" in text and "containerPrefixRegistry" in text
    again = run_cli("sync", "--generate-config", str(target))
    assert again.code == 2 and "already exists" in _error_line(again.stderr)
    # Edited to the site's values, the written file is a working config.
    target.write_text(text.replace("./offline", str(package.path)))
    planned = run_cli("sync", "--config", str(target), "--dry-run", "true", "--json")
    assert planned.code == 0, planned.stderr
    assert {c["status"] for c in json.loads(planned.stdout)["charts"]} == {"planned"}


def test_version() -> None:
    from skoala_airgap import __version__

    plain = run_cli("version")
    assert (plain.code, plain.stdout) == (0, f"skoala-airgap {__version__}\n")
    reported = json.loads(run_cli("version", "--json").stdout)
    assert (reported["ok"], reported["version"]) == (True, __version__)
    assert run_cli("--version").stdout.strip() == f"skoala-airgap, version {__version__}"


# ------------------------------------------------------------------------------------------------------------
# 6. Done when: the vendor's three samples, the vendor's command line, unchanged
# ------------------------------------------------------------------------------------------------------------


def test_vendor_harbor_sample(tmp_path: Path, package: OfflinePackage) -> None:
    """containerPrefixRegistry and repo.url on one Harbor (10.16.10.111 in the vendor's page)."""
    projects = {"skoala": HarborProject(), "docker.m.daocloud.io": HarborProject()}
    with harbor_with_registry(tmp_path, {"admin": ADMIN[1]}, projects) as (harbor, _registry):
        config = _harbor_config(tmp_path / "load-image.yaml", package, harbor)
        code, report, stderr = _vendor(config)
        assert code == 0, stderr
        assert {(c["name"], c["status"]) for c in report["charts"]} == {
            ("skoala", "published"),
            ("skoala-init", "published"),
        }
        assert len(_scheme_lines(stderr, harbor.host)) == 1
        values = chart_values(harbor.charts_of("skoala")["skoala"]["0.28.1"], "skoala")
        assert values["hive"]["image"]["registry"] == harbor.host
        assert values["hive"]["image"]["repository"] == "docker.m.daocloud.io/skoala/hive"
        ref = f"docker://{harbor.host}/{HIVE}"
        out = run_skopeo(tmp_path, "inspect", "--tls-verify=false", "--creds", ":".join(ADMIN), ref)
        assert json.loads(out.stdout)["Digest"] == package.docker_manifest_digests[HIVE]
        _assert_no_cookies(harbor)
        code, report, stderr = _vendor(config)
        assert code == 0 and {c["status"] for c in report["charts"]} == {"already-synced"}, stderr


def test_vendor_chartmuseum_sample(tmp_path: Path, package: OfflinePackage, registry: RegistryProcess) -> None:
    with ChartMuseumDouble(basic_auth=("chartmuseum", "cm-pass")) as museum:
        config = write_yaml(
            tmp_path / "load-image.yaml",
            {
                "source": {"intermediateBundlesPath": str(package.path)},
                "target": {
                    "containerPrefixRegistry": registry.host,
                    "repo": {
                        "kind": "CHARTMUSEUM",
                        "url": museum.url,
                        "auth": {"username": "chartmuseum", "password": "cm-pass"},
                    },
                },
            },
        )
        code, report, stderr = _vendor(config)
        assert code == 0, stderr
        assert report["projects"] == []
        values = chart_values(museum.charts["skoala-init"]["0.28.1"], "skoala-init")
    assert values["nacosOperator"]["image"]["registry"] == registry.host
    assert values["nacosOperator"]["image"]["repository"] == "docker.m.daocloud.io/skoala/nacos-operator"
    ref = f"docker://{registry.host}/docker.m.daocloud.io/skoala/nacos-operator:v0.28.1"
    digest = json.loads(run_skopeo(tmp_path, "inspect", "--tls-verify=false", ref).stdout)["Digest"]
    assert digest == package.docker_manifest_digests["docker.m.daocloud.io/skoala/nacos-operator:v0.28.1"]


def test_vendor_local_sample(tmp_path: Path, package: OfflinePackage, registry: RegistryProcess) -> None:
    charts = tmp_path / "charts"
    config = write_yaml(
        tmp_path / "load-image.yaml",
        {
            "source": {"intermediateBundlesPath": str(package.path)},
            "target": {
                "containerRegistry": registry.host,
                "containerRepository": "vendor-local/images",
                "repo": {"kind": "LOCAL", "path": str(charts)},
            },
        },
    )
    code, _, stderr = _vendor(config)
    assert code == 0, stderr
    values = chart_values((charts / "skoala-0.28.1.tgz").read_bytes(), "skoala")
    assert values["hive"]["image"]["registry"] == registry.host
    assert values["hive"]["image"]["repository"] == "vendor-local/images/hive"
    index = yaml.safe_load((charts / "index.yaml").read_text())
    assert {e["version"] for e in index["entries"]["skoala-init"]} == {"0.28.1"}
    for ref in ("vendor-local/images/hive:v0.28.1", "vendor-local/images/seata-server:1.7.1"):
        run_skopeo(tmp_path, "inspect", "--tls-verify=false", f"docker://{registry.host}/{ref}")
