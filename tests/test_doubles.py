"""Conformance tests: the doubles answer with the status codes, headers and bodies of the spec tables.

The spec is ``chart-repo-and-registry-apis.md`` (§1 ChartMuseum, §2 Harbor, §3.5 token auth, §6 checklists).
Bodies are compared as raw bytes where the spec gives them, because clients (helm-push, charts-syncer)
and our own error handling match on that text. The token flow runs against a real docker-registry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Iterator
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.doubles import (
    BearerAuth,
    ChartMuseumDouble,
    HarborDouble,
    HarborProject,
    ResourceScope,
    TokenSigner,
    libtrust_key_id,
    make_chart_tgz,
    registry_token_config,
)

JSON = "application/json; charset=utf-8"
DEMO = make_chart_tgz("demo", "0.1.0")
PROV = b"""-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

apiVersion: v2
name: demo
version: 0.1.0

...
files:
  demo-0.1.0.tgz: sha256:0000
-----BEGIN PGP SIGNATURE-----
wsBcBAEBCgAQBQJcAAAACRAAAAAAAAAAAAAA
-----END PGP SIGNATURE-----
"""


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A session that ignores the machine's proxy/CA environment (plain HTTP to 127.0.0.1 only) and keeps
    no cookies, as skoala-airgap's client does: Harbor's session cookie would switch its CSRF check on
    (see test_harbor_session_cookie_turns_csrf_on, which keeps them on purpose)."""
    with requests.Session() as session:
        session.trust_env = False
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        yield session


def upload(http: requests.Session, url: str, content: bytes = DEMO, **kwargs: Any) -> requests.Response:
    """Upload the way helm-push and charts-syncer do: multipart with a single ``chart`` part."""
    return http.post(url, files={"chart": ("ignored-name.tgz", content)}, **kwargs)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return result


# ------------------------------------------------------------------------------------------------------------
# ChartMuseum
# ------------------------------------------------------------------------------------------------------------


def test_chartmuseum_upload_conflict_and_force(http: requests.Session) -> None:
    with ChartMuseumDouble() as cm:
        r = upload(http, f"{cm.url}/api/charts")
        assert (r.status_code, r.content, r.headers["Content-Type"]) == (201, b'{"saved":true}', JSON)
        assert cm.charts == {"demo": {"0.1.0": DEMO}}

        r = upload(http, f"{cm.url}/api/charts")
        assert (r.status_code, r.content) == (409, b'{"error":"chart already exists"}')
        raw = http.post(f"{cm.url}/api/charts", data=DEMO, headers={"Content-Type": "application/gzip"})
        assert (raw.status_code, raw.content) == (409, b'{"error":"file already exists"}')

        # The key's presence means force, whatever its value.
        assert upload(http, f"{cm.url}/api/charts?force=false").status_code == 201
        assert http.post(f"{cm.url}/api/charts?force", data=DEMO).status_code == 201
        assert cm.requests[0] == ("POST", "/api/charts", 201)

    with ChartMuseumDouble(allow_overwrite=True) as cm:
        assert [upload(http, f"{cm.url}/api/charts").status_code for _ in range(2)] == [201, 201]
    with ChartMuseumDouble(disable_force_overwrite=True) as cm:
        assert [upload(http, f"{cm.url}/api/charts?force").status_code for _ in range(2)] == [201, 409]


def test_chartmuseum_index_and_download(http: requests.Session) -> None:
    other = make_chart_tgz("demo", "0.2.0", app_version="1.0")
    with ChartMuseumDouble() as cm:
        upload(http, f"{cm.url}/api/charts")
        upload(http, f"{cm.url}/api/charts", other)
        r = http.get(f"{cm.url}/index.yaml")
        assert (r.status_code, r.headers["Content-Type"]) == (200, "application/x-yaml")
        index = yaml.safe_load(r.text)
        assert index["apiVersion"] == "v1" and index["serverInfo"] == {} and index["generated"]
        newest, oldest = index["entries"]["demo"]
        assert [newest["version"], oldest["version"]] == ["0.2.0", "0.1.0"]
        assert oldest["digest"] == hashlib.sha256(DEMO).hexdigest()
        assert oldest["urls"] == ["charts/demo-0.1.0.tgz"]
        assert oldest["apiVersion"] == "v2" and newest["appVersion"] == "1.0" and oldest["created"].endswith("Z")
        assert http.head(f"{cm.url}/index.yaml").status_code == 200

        tgz = http.get(f"{cm.url}/{oldest['urls'][0]}")
        assert (tgz.status_code, tgz.headers["Content-Type"], tgz.content) == (200, "application/x-tar", DEMO)
        missing = http.get(f"{cm.url}/charts/nope-1.0.0.tgz")
        assert (missing.status_code, missing.content) == (404, b'{"error":"object not found"}')
        odd = http.get(f"{cm.url}/charts/demo.txt")
        assert (odd.status_code, odd.content) == (500, b'{"error":"unsupported file extension"}')


def test_chartmuseum_basic_auth(http: requests.Session) -> None:
    with ChartMuseumDouble(basic_auth=("alice", "s3cret")) as cm:
        for auth in (None, ("alice", "wrong")):
            r = upload(http, f"{cm.url}/api/charts", auth=auth)
            assert (r.status_code, r.content) == (401, b'{"error":"unauthorized"}')
            assert r.headers["WWW-Authenticate"] == 'Basic realm="ChartMuseum"'
        assert http.get(f"{cm.url}/index.yaml").status_code == 401
        assert http.get(f"{cm.url}/health").content == b'{"healthy":true}'
        assert upload(http, f"{cm.url}/api/charts", auth=("alice", "s3cret")).status_code == 201
    with ChartMuseumDouble(basic_auth=("alice", "s3cret"), anonymous_get=True) as cm:
        assert http.get(f"{cm.url}/index.yaml").status_code == 200
        assert upload(http, f"{cm.url}/api/charts").status_code == 401


def test_chartmuseum_bearer_challenge(http: requests.Session) -> None:
    signer = TokenSigner(issuer="auth", audience="cm")
    with ChartMuseumDouble(depth=1, bearer_auth=BearerAuth("https://auth.example/token", "cm", signer)) as cm:
        r = upload(http, f"{cm.url}/api/team-a/charts")
        assert r.headers["WWW-Authenticate"] == (
            'Bearer realm="https://auth.example/token",service="cm",scope="artifact-repository:team-a:push"'
        )
        token = signer.issue("ci", [ResourceScope("artifact-repository", "team-a", ("pull", "push"))])
        headers = {"Authorization": f"Bearer {token}"}
        assert upload(http, f"{cm.url}/api/team-a/charts", headers=headers).status_code == 201
        assert upload(http, f"{cm.url}/api/team-b/charts", headers=headers).status_code == 401


def test_chartmuseum_lookups_follow_helm_index_get(http: requests.Session) -> None:
    with ChartMuseumDouble() as cm:
        for version in ("1.2.7", "1.3.0", "2.0.0-rc.1"):
            cm.add_chart(make_chart_tgz("demo", version))
        api = f"{cm.url}/api/charts"
        head = http.head(f"{api}/demo/1.2.7")
        assert (head.status_code, head.content) == (200, b"")
        assert http.get(f"{api}/demo/1.2").json()["version"] == "1.2.7"  # semver-constraint fallback
        assert http.get(f"{api}/demo/latest").json()["version"] == "1.3.0"  # prereleases excluded
        assert http.get(f"{api}/demo/2.0.0-rc.1").json()["version"] == "2.0.0-rc.1"
        assert http.get(f"{api}/demo/9.9.9").content == b'{"error":"no chart version found for demo-9.9.9"}'
        assert http.get(f"{api}/nope/1.0.0").content == b'{"error":"no chart name found"}'
        assert http.head(f"{api}/demo/9.9.9").status_code == 404
        assert http.get(f"{api}/nope").content == b'{"error":"chart not found"}'
        assert [v["version"] for v in http.get(f"{api}/demo").json()] == ["2.0.0-rc.1", "1.3.0", "1.2.7"]

        cm.add_chart(make_chart_tgz("zeta", "1.0.0"))
        assert list(http.get(api, params={"offset": 1, "limit": 5}).json()) == ["zeta"]
        bad = http.get(api, params={"offset": -1})
        assert (bad.status_code, bad.json()) == (400, {"error": "offset is not a valid non-negative integer"})
        assert http.get(api, params={"limit": 0}).json() == {"error": "limit is not a valid positive integer"}

        deleted = http.delete(f"{api}/demo/1.3.0")
        assert (deleted.status_code, deleted.content) == (200, b'{"deleted":true}')
        assert http.delete(f"{api}/demo/1.3.0").status_code == 404


def test_chartmuseum_context_path_and_depth(http: requests.Session) -> None:
    with ChartMuseumDouble(context_path="/ctx", depth=1) as cm:
        assert upload(http, f"{cm.url}/ctx/api/team-a/charts").status_code == 201
        index = yaml.safe_load(http.get(f"{cm.url}/ctx/team-a/index.yaml").text)
        assert index["serverInfo"] == {"contextPath": "/ctx"} and "demo" in index["entries"]
        assert cm.charts_of("team-a") == {"demo": {"0.1.0": DEMO}}
        assert yaml.safe_load(http.get(f"{cm.url}/ctx/unknown/index.yaml").text)["entries"] == {}
        for wrong in ("/team-a/index.yaml", "/ctx/index.yaml", "/ctx/a/b/index.yaml", "/ctx/api/charts"):
            r = http.get(cm.url + wrong)
            assert (r.status_code, r.content) == (404, b'{"error":"not found"}'), wrong


def test_chartmuseum_rejections(http: requests.Session) -> None:
    with ChartMuseumDouble(max_upload_size=4096, max_storage_objects=1) as cm:
        api = f"{cm.url}/api/charts"
        bad = http.post(api, data=b"not a tarball")
        assert (bad.status_code, bad.json()) == (400, {"error": "gzip: invalid header"})
        none = http.post(api, files={"file": ("x", b"x")})
        assert none.json() == {"error": "no package or provenance file found in form fields chart and prov"}
        big = http.post(api, data=b"x" * 5000)
        assert (big.status_code, big.content, big.headers["Connection"]) == (413, b"request too large", "close")
        assert upload(http, api).status_code == 201
        full = upload(http, api, make_chart_tgz("other", "1.0.0"))
        assert (full.status_code, full.content) == (507, b'{"error":"repo has reached storage limit"}')
    with ChartMuseumDouble() as cm:
        prov = http.post(f"{cm.url}/api/prov", data=b"no signature here")
        assert (prov.status_code, prov.content) == (500, b'{"error":"invalid provenance file"}')
        both = http.post(f"{cm.url}/api/charts", files={"chart": ("c", DEMO), "prov": ("p", PROV)})
        assert both.status_code == 201 and set(cm.storage[""]) == {"demo-0.1.0.tgz", "demo-0.1.0.tgz.prov"}
        r = http.get(f"{cm.url}/charts/demo-0.1.0.tgz.prov")
        assert r.headers["Content-Type"] == "application/pgp-signature"


def test_chartmuseum_faults_and_index_lag(http: requests.Session) -> None:
    with ChartMuseumDouble(index_lag=1) as cm:
        cm.fail_next(500, times=2, method="POST")
        for _ in range(2):
            r = upload(http, f"{cm.url}/api/charts")
            assert (r.status_code, r.content) == (500, b'{"error":"internal server error"}')
        assert upload(http, f"{cm.url}/api/charts").status_code == 201
        assert yaml.safe_load(http.get(f"{cm.url}/index.yaml").text)["entries"] == {}  # not yet indexed
        assert "demo" in yaml.safe_load(http.get(f"{cm.url}/index.yaml").text)["entries"]
        assert [s for _, _, s in cm.requests] == [500, 500, 201, 200, 200]

        cm.drop_next(path_contains="index.yaml")
        with pytest.raises(requests.ConnectionError):
            http.get(f"{cm.url}/index.yaml")
        assert http.get(f"{cm.url}/index.yaml").status_code == 200


# ------------------------------------------------------------------------------------------------------------
# Harbor
# ------------------------------------------------------------------------------------------------------------

USERS = {"admin": "Harbor12345", "alice": "a-pass", "bob": "b-pass", "robot$p1+ci": "r-secret", "robot$ci": "s"}


def make_harbor(**kwargs: Any) -> HarborDouble:
    projects = {
        "library": HarborProject(public=True),
        "p1": HarborProject(members={"alice": "developer"}),
        "p2": HarborProject(members={"bob": "developer"}),
    }
    return HarborDouble(USERS, projects, **kwargs)


def test_harbor_chartrepo_upload_reads_and_overwrite(http: requests.Session) -> None:
    with make_harbor() as harbor:
        alice = ("alice", "a-pass")
        api = f"{harbor.url}/api/chartrepo/p1/charts"
        for _ in range(2):  # Harbor's ChartMuseum runs with ALLOW_OVERWRITE=true: never 409
            r = upload(http, api, auth=alice)
            assert (r.status_code, r.content) == (201, b'{"saved":true}')
        assert upload(http, api, auth=("robot$p1+ci", "r-secret")).status_code == 201
        assert harbor.charts_of("p1") == {"demo": {"0.1.0": DEMO}}

        r = http.get(f"{harbor.url}/chartrepo/p1/index.yaml", auth=alice)
        assert (r.status_code, r.headers["Content-Type"]) == (200, "application/x-yaml")
        index = yaml.safe_load(r.text)
        entry = index["entries"]["demo"][0]
        assert index["serverInfo"] == {} and entry["urls"] == ["charts/demo-0.1.0.tgz"]
        assert entry["digest"] == hashlib.sha256(DEMO).hexdigest()
        assert http.get(f"{harbor.url}/chartrepo/p1/charts/demo-0.1.0.tgz", auth=alice).content == DEMO

        details = http.get(f"{api}/demo/0.1", auth=alice).json()
        assert details["metadata"]["version"] == "0.1.0" and details["labels"] == []
        assert details["security"] == {"signature": {"signed": False, "prov_file": ""}}
        assert details["values"]["image.repository"] == "nginx"
        missing = http.get(f"{api}/demo/9.9.9", auth=alice)
        assert (missing.status_code, missing.json()) == (
            404,
            {
                "errors": [
                    {"code": "NOT_FOUND", "message": "fail to get chart version: no chart version found for demo-9.9.9"}
                ]
            },
        )
        assert http.get(api, auth=alice).json()[0] | {"created": "", "updated": ""} == {
            "name": "demo",
            "total_versions": 1,
            "latest_version": "0.1.0",
            "created": "",
            "updated": "",
            "icon": "",
            "home": "",
            "deprecated": False,
        }
        assert http.get(f"{api}/demo", auth=alice).json()[0]["labels"] == []
        assert http.head(f"{api}/demo/0.1.0", auth=alice).status_code == 404  # beego has no HEAD route
        deleted = http.delete(f"{api}/demo/0.1.0", auth=("admin", "Harbor12345"))
        assert (deleted.status_code, deleted.content) == (200, b"")


def test_harbor_chartrepo_permission_and_error_shapes(http: requests.Session) -> None:
    with make_harbor() as harbor:
        base = harbor.url
        anon = upload(http, f"{base}/api/chartrepo/p1/charts")
        assert (anon.status_code, anon.content) == (
            401,
            b'{"errors":[{"code":"UNAUTHORIZED","message":"UnAuthorized"}]}',
        )
        assert "WWW-Authenticate" not in anon.headers
        # Wrong password is just anonymous; a non-member gets 403 naming the user.
        assert upload(http, f"{base}/api/chartrepo/p1/charts", auth=("alice", "bad")).status_code == 401
        bob = upload(http, f"{base}/api/chartrepo/p1/charts", auth=("bob", "b-pass"))
        assert (bob.status_code, bob.json()) == (403, {"errors": [{"code": "FORBIDDEN", "message": "bob"}]})
        assert http.get(f"{base}/chartrepo/p1/index.yaml").status_code == 401
        assert http.get(f"{base}/chartrepo/library/index.yaml").status_code == 200  # public read

        ghost = f"{base}/api/chartrepo/ghost/charts"
        assert upload(http, ghost, auth=("admin", "Harbor12345")).json() == {
            "errors": [{"code": "NOT_FOUND", "message": "project ghost not found"}]
        }
        assert upload(http, ghost, auth=("alice", "a-pass")).status_code == 403
        assert upload(http, ghost).status_code == 401

        alice = ("alice", "a-pass")
        nochart = http.post(f"{base}/api/chartrepo/p1/charts", files={"file": ("x", DEMO)}, auth=alice)
        assert (nochart.status_code, nochart.json()) == (
            500,
            {"errors": [{"code": "UNKNOWN", "message": "internal server error"}]},
        )
        bad = upload(http, f"{base}/api/chartrepo/p1/charts", b"junk", auth=alice)
        assert (bad.status_code, bad.content) == (400, b'{"error":"gzip: invalid header"}')
        raw = http.post(f"{base}/api/chartrepo/p1/charts", data=DEMO, auth=alice)
        assert raw.status_code == 201
        big = http.post(f"{base}/api/chartrepo/p1/charts", data=b"x" * (20 * 1024 * 1024 + 1), auth=alice)
        assert (big.status_code, big.content) == (413, b'{"error":"request too large"}')

        library = http.post(f"{base}/api/chartrepo/charts", files={"chart": ("c", DEMO)}, auth=("admin", "Harbor12345"))
        assert library.status_code == 201 and "demo" in harbor.charts_of("library")

        harbor.fail_next(503, path_contains="/chartrepo/")
        failed = http.get(f"{base}/chartrepo/library/index.yaml")
        assert (failed.status_code, failed.json()["errors"][0]["code"]) == (503, "UNKNOWN")


def test_harbor_28_has_no_chartrepo(http: requests.Session) -> None:
    with make_harbor(chartrepo_enabled=False) as harbor:
        admin = ("admin", "Harbor12345")
        for method, path in (
            ("POST", "/api/chartrepo/p1/charts"),
            ("GET", "/chartrepo/p1/index.yaml"),
            ("GET", "/api/chartrepo/health"),
        ):
            r = http.request(method, harbor.url + path, auth=admin, files={"chart": ("c", DEMO)})
            assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html"), path
        assert "with_chartmuseum" not in http.get(f"{harbor.url}/api/v2.0/systeminfo").json()
    with make_harbor() as harbor:
        admin = ("admin", "Harbor12345")
        assert http.get(f"{harbor.url}/api/v2.0/systeminfo", auth=admin).json()["with_chartmuseum"] is True
        # Anonymous callers get only auth_mode, harbor_version and self_registration (HEAD systeminfo).
        assert set(http.get(f"{harbor.url}/api/v2.0/systeminfo").json()) == {
            "auth_mode",
            "harbor_version",
            "self_registration",
        }
        assert http.get(f"{harbor.url}/api/chartrepo/health", auth=("admin", "Harbor12345")).status_code == 200
        assert http.get(f"{harbor.url}/api/chartrepo/health", auth=("alice", "a-pass")).status_code == 403


def test_harbor_project_api(http: requests.Session) -> None:
    with make_harbor() as harbor:
        api = f"{harbor.url}/api/v2.0"
        ping = http.get(f"{api}/ping")
        assert (ping.status_code, ping.text, ping.headers["Content-Type"]) == (200, "Pong", "text/plain")
        assert http.head(f"{api}/projects", params={"project_name": "p1"}).status_code == 401
        alice = ("alice", "a-pass")
        assert http.head(f"{api}/projects", params={"project_name": "p1"}, auth=alice).status_code == 200
        assert http.head(f"{api}/projects", params={"project_name": "nope"}, auth=alice).status_code == 404

        created = http.post(
            f"{api}/projects", json={"project_name": "team-x", "metadata": {"public": "false"}}, auth=alice
        )
        assert (created.status_code, created.content) == (201, b"")
        assert created.headers["Location"] == f"/api/v2.0/projects/{harbor.projects['team-x'].project_id}"
        assert created.headers["X-Request-Id"]
        assert harbor.allowed_actions("alice", "team-x") >= {"pull", "push"}
        dup = http.post(f"{api}/projects", json={"project_name": "team-x", "public": True}, auth=alice)
        assert (dup.status_code, dup.content) == (
            409,
            b'{"errors":[{"code":"CONFLICT","message":"The project named team-x already exists"}]}',
        )
        legacy = http.post(
            f"{api}/projects",
            json={"project_name": "pub", "public": True},
            headers={"X-Resource-Name-In-Location": "true"},
            auth=("robot$ci", "s"),
        )
        assert legacy.headers["Location"] == "/api/v2.0/projects/pub" and harbor.projects["pub"].public
        assert http.post(f"{api}/projects", json={"project_name": "Bad_Name"}, auth=alice).status_code == 400
        robot = http.post(f"{api}/projects", json={"project_name": "r1"}, auth=("robot$p1+ci", "r-secret"))
        assert (robot.status_code, robot.json()["errors"][0]["message"]) == (
            403,
            "Only system level robot can create project",
        )
        assert http.post(f"{api}/projects", json={"project_name": "anon"}).status_code == 401

        names = [p["name"] for p in http.get(f"{api}/projects", auth=alice).json()]
        assert names == ["library", "p1", "team-x", "pub"]
        assert http.get(f"{api}/projects/p2", auth=alice).status_code == 403
        assert http.get(f"{api}/projects/p1", auth=alice).json()["metadata"] == {"public": "false"}


def test_harbor_token_service_grants_only_allowed_actions(http: requests.Session) -> None:
    with make_harbor() as harbor:
        realm = f"{harbor.url}/service/token"
        assert http.get(realm, params={"service": "harbor-registry"}).status_code == 401
        assert http.get(realm, params={"service": "other", "scope": "repository:p1/a:pull"}).status_code == 400

        scope = "repository:p1/app:pull,push repository:p2/app:pull,push"
        r = http.get(realm, params={"service": "harbor-registry", "scope": scope}, auth=("alice", "a-pass"))
        body = r.json()
        assert (r.status_code, body["access_token"], body["expires_in"]) == (200, "", 1800)
        assert body["issued_at"].endswith("Z")
        claims = jwt_claims(body["token"])
        assert (claims["iss"], claims["aud"], claims["sub"]) == ("harbor-token-issuer", "harbor-registry", "alice")
        assert claims["access"] == [
            {"type": "repository", "name": "p1/app", "actions": ["pull", "push"]},
            {"type": "repository", "name": "p2/app", "actions": []},
        ]
        header = json.loads(base64.urlsafe_b64decode(body["token"].split(".")[0] + "=="))
        assert header["kid"] == libtrust_key_id(harbor.signer.private_key.public_key())
        assert len(header["kid"].split(":")) == 12

        anon = http.get(realm, params={"service": "harbor-registry", "scope": "repository:library/x:pull,push"})
        assert jwt_claims(anon.json()["token"])["access"][0]["actions"] == ["pull"]


# ------------------------------------------------------------------------------------------------------------
# The token service against a real distribution 2.8 registry
# ------------------------------------------------------------------------------------------------------------


def _push_blob(http: requests.Session, registry_url: str, repo: str, token: str, blob: bytes) -> int:
    """Monolithic blob push (POST, then PUT ?digest=); returns the status of the step that failed or the PUT."""
    headers = {"Authorization": f"Bearer {token}"}
    started = http.post(f"{registry_url}/v2/{repo}/blobs/uploads/", headers=headers)
    if started.status_code != 202:
        return started.status_code
    location = requests.compat.urljoin(registry_url, started.headers["Location"])
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    sep = "&" if "?" in location else "?"
    put = http.put(
        f"{location}{sep}digest={digest}",
        data=blob,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    return put.status_code


@pytest.mark.registry
@pytest.mark.skipif(shutil.which("docker-registry") is None, reason="needs the Debian docker-registry binary")
def test_token_flow_against_real_registry(http: requests.Session, tmp_path: Path) -> None:
    from tests.infra.registry import start_registry

    with make_harbor() as harbor:
        cert_path, _ = harbor.signer.write_to(tmp_path / "signer")
        realm = f"{harbor.url}/service/token"
        auth = registry_token_config(realm, cert_path)
        with start_registry(tmp_path / "registry", extra_config={"auth": auth}) as registry:
            url = registry.url
            probe = http.get(f"{url}/v2/")
            assert probe.status_code == 401
            assert probe.headers["WWW-Authenticate"] == f'Bearer realm="{realm}",service="harbor-registry"'
            denied = http.post(f"{url}/v2/p1/app/blobs/uploads/")
            challenge, _, actions = denied.headers["WWW-Authenticate"].rpartition(":")
            assert challenge == f'Bearer realm="{realm}",service="harbor-registry",scope="repository:p1/app'
            assert sorted(actions.strip('"').split(",")) == ["pull", "push"]  # Go map order varies
            assert denied.json()["errors"][0]["code"] == "UNAUTHORIZED"

            def token_for(scope: str | None, auth: tuple[str, str] | None = ("alice", "a-pass")) -> str:
                params = {"service": "harbor-registry", **({"scope": scope} if scope else {})}
                r = http.get(realm, params=params, auth=auth)
                assert r.status_code == 200, r.text
                return str(r.json()["token"])

            login = token_for(None)
            assert http.get(f"{url}/v2/", headers={"Authorization": f"Bearer {login}"}).status_code == 200

            blob = b"skoala-airgap token flow\n"
            allowed = token_for("repository:p1/app:pull,push")
            assert _push_blob(http, url, "p1/app", allowed, blob) == 201
            forbidden = token_for("repository:p2/app:pull,push")
            assert _push_blob(http, url, "p2/app", forbidden, blob) == 401
            # A token for p1 does not open p2 either: the registry checks the access claim per repository.
            assert _push_blob(http, url, "p2/app", allowed, blob) == 401

            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            pull = token_for("repository:p1/app:pull")
            head = http.head(f"{url}/v2/p1/app/blobs/{digest}", headers={"Authorization": f"Bearer {pull}"})
            assert head.status_code == 200
            anon = token_for("repository:library/app:pull", auth=None)
            tags = http.get(f"{url}/v2/library/app/tags/list", headers={"Authorization": f"Bearer {anon}"})
            assert tags.status_code == 404  # authorised; the repository simply does not exist


def test_harbor_session_cookie_turns_csrf_on() -> None:
    """Harbor core hands out a ``sid`` cookie on every reply; a request that sends it back loses the CSRF
    exemption of /api/, so a cookie-keeping client's POST fails until it echoes X-Harbor-CSRF-Token."""
    with make_harbor() as harbor, requests.Session() as keeping:
        keeping.trust_env = False
        alice = ("alice", "a-pass")
        api = f"{harbor.url}/api/v2.0/projects"
        first = keeping.head(api, params={"project_name": "p1"}, auth=alice)
        assert first.status_code == 200 and first.headers["Set-Cookie"].startswith("sid=")
        assert "X-Harbor-Csrf-Token" not in first.headers  # exempt: no session carried yet
        refused = keeping.post(api, json={"project_name": "c1"}, auth=alice)
        assert (refused.status_code, refused.content) == (
            403,
            b'{"errors":[{"code":"FORBIDDEN","message":"CSRF token not found in request"}]}',
        )
        token = refused.headers["X-Harbor-Csrf-Token"]
        wrong = keeping.post(api, json={"project_name": "c1"}, auth=alice, headers={"X-Harbor-CSRF-Token": "x"})
        assert wrong.json()["errors"][0]["message"] == "CSRF token invalid"
        echoed = keeping.post(api, json={"project_name": "c1"}, auth=alice, headers={"X-Harbor-CSRF-Token": token})
        assert echoed.status_code == 201
        # A client without cookies (ours) is never checked.
        fresh = requests.post(api, json={"project_name": "c2"}, auth=alice, timeout=10)
        assert fresh.status_code == 201 and "c2" in harbor.projects


@pytest.mark.registry
@pytest.mark.skipif(shutil.which("docker-registry") is None, reason="needs the Debian docker-registry binary")
def test_harbor_fronts_a_real_registry(http: requests.Session, tmp_path: Path) -> None:
    from tests.doubles.harbor import harbor_with_registry

    projects = {"p1": HarborProject(members={"alice": "developer"})}
    with harbor_with_registry(tmp_path, USERS, projects) as (harbor, registry):
        probe = http.get(f"{harbor.url}/v2/")
        assert probe.status_code == 401
        assert probe.headers["WWW-Authenticate"].startswith(f'Bearer realm="{harbor.url}/service/token"')
        assert "Set-Cookie" not in probe.headers  # the registry answered, not core

        def token(scope: str) -> str:
            params = {"service": "harbor-registry", "scope": scope}
            return str(http.get(f"{harbor.url}/service/token", params=params, auth=("alice", "a-pass")).json()["token"])

        blob = b"through the front\n"
        assert _push_blob(http, harbor.url, "p1/app", token("repository:p1/app:pull,push"), blob) == 201
        # A project that does not exist grants nothing: Harbor never creates projects on push.
        assert _push_blob(http, harbor.url, "ghost/app", token("repository:ghost/app:pull,push"), blob) == 401
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        head = http.head(
            f"{harbor.url}/v2/p1/app/blobs/{digest}",
            headers={"Authorization": f"Bearer {token('repository:p1/app:pull')}"},
        )
        assert (head.status_code, head.headers["Content-Length"]) == (200, str(len(blob)))
        assert registry.request_count("PUT", "/v2/p1/app/blobs/uploads/") == 1
