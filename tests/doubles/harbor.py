"""A Harbor test double: legacy chartrepo (Harbor ≤2.7), the v2.0 project API and the token service.

Harbor cannot be installed here. This double reproduces what a client of Harbor sees (spec §2, checklist
§6.2): Harbor's own checks answer with the ``{"errors":[…]}`` envelope and no ``WWW-Authenticate``;
chart calls are proxied to an embedded :class:`ChartMuseumDouble` (depth 1, overwrite on) whose errors
come back flattened to ``{"error":…}``; ``chartrepo_enabled=False`` gives Harbor ≥2.8, where those routes
are gone. ``/service/token`` issues JWTs a real distribution 2.8 registry accepts, granting only what
the caller may do in each project, so a real ``docker-registry`` can stand in for Harbor's ``/v2``; with
``registry=HOST:PORT`` the double fronts that registry on its own port as Harbor's nginx does (``/v2`` goes
to the registry, everything else to core), so one address serves images, charts and the API.

Sessions and CSRF follow Harbor core (spec §2.6): every core reply sets a ``sid`` session cookie when the
request carried none; a request that *does* carry ``sid`` is no longer exempt from gorilla/csrf, so an
unsafe method (POST, PUT, PATCH, DELETE) without a matching ``X-Harbor-CSRF-Token`` header answers
``403 {"errors":[{"code":"FORBIDDEN","message":"CSRF token not found in request"}]}`` (or ``CSRF token
invalid``). Clients that keep cookies between calls therefore fail; ours keeps none.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
import re
import secrets
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.doubles.chartmuseum import (
    JSON_TYPE,
    YAML_TYPE,
    ChartError,
    ChartMuseumDouble,
    HttpDouble,
    Reply,
    Request,
    json_reply,
    load_chart,
    parse_multipart,
)
from tests.doubles.tokens import HARBOR_SERVICE, ResourceScope, TokenSigner, parse_scopes

# What each project role may do, reduced to the three registry actions (Harbor's rbac_role.go, ≤2.7).
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "projectAdmin": frozenset({"pull", "push", "delete"}),
    "maintainer": frozenset({"pull", "push", "delete"}),
    "developer": frozenset({"pull", "push"}),
    "guest": frozenset({"pull"}),
    "limitedGuest": frozenset({"pull"}),
}
_PROJECT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_NOT_FOUND_PAGE = b"<!DOCTYPE html>\n<html><head><title>404</title></head><body>page not found</body></html>\n"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})  # gorilla/csrf never checks these
_CSRF_EXEMPT = ("/v2/", "/api/", "/chartrepo/", "/service/")  # csrfSkipper, unless a session is carried
# Hop-by-hop and framing headers the front does not copy from the registry's reply.
_NOT_FORWARDED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"})


@dataclass
class HarborProject:
    """A project: ``members`` maps user or robot names to a role from :data:`ROLE_ACTIONS`."""

    public: bool = False
    members: dict[str, str] = field(default_factory=dict)
    project_id: int = 0
    creation_time: str = ""


def harbor_error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    """Harbor's own error envelope; every 5xx is masked as UNKNOWN / internal server error (§2.5)."""
    if status >= 500:
        code, message = "UNKNOWN", "internal server error"
    else:
        from http import HTTPStatus

        code = HTTPStatus(status).phrase.upper().replace(" ", "_")
    return json_reply(status, {"errors": [{"code": code, "message": message}]}, headers or [])


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    """Harbor shows chart values as a flat ``a.b.c -> leaf`` map."""
    if not isinstance(values, dict) or not values:
        return {prefix: values} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in values.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


class HarborDouble(HttpDouble):
    """Harbor core as seen through its nginx: ``/api/v2.0``, ``/chartrepo``, ``/api/chartrepo``, ``/service/token``.

    ``users`` maps login names (including robots such as ``robot$ci`` or ``robot$p1+ci``) to passwords.
    ``projects`` maps names to :class:`HarborProject` or to a bool meaning "public"; when omitted there is
    one public ``library`` project, as on a fresh Harbor. A project robot ``robot$P+x`` may push and pull
    in P. Users in ``admins`` are system administrators.
    """

    server_name = "harbor-double"

    def __init__(
        self,
        users: Mapping[str, str],
        projects: Mapping[str, HarborProject | bool] | None = None,
        chartrepo_enabled: bool = True,
        *,
        admins: Collection[str] = ("admin",),
        only_admins_create_projects: bool = False,
        chart_absolute_url: bool = False,
        signer: TokenSigner | None = None,
        token_expiration_minutes: int = 30,
        registry: str | None = None,
    ) -> None:
        super().__init__()
        self.registry = registry  # host:port of a real registry this double fronts for /v2
        self.sessions: set[str] = set()  # sid cookies handed out
        self.csrf_tokens: set[str] = set()  # _gorilla_csrf cookie values handed out
        self.users = dict(users)
        self.admins = set(admins)
        self.chartrepo_enabled = chartrepo_enabled
        self.only_admins_create_projects = only_admins_create_projects
        self.chart_absolute_url = chart_absolute_url
        self.harbor_version = "v2.7.0-6113469" if chartrepo_enabled else "v2.8.0-738fde7"
        self.token_expiration_minutes = token_expiration_minutes
        self.signer = signer or TokenSigner(ttl_seconds=token_expiration_minutes * 60)
        self.signer.ttl_seconds = token_expiration_minutes * 60
        # Harbor runs its ChartMuseum with DEPTH=1, ALLOW_OVERWRITE=true, MAX_UPLOAD_SIZE=20 MiB.
        self.backend = ChartMuseumDouble(depth=1, allow_overwrite=True)
        self.projects: dict[str, HarborProject] = {}
        for name, spec in (projects if projects is not None else {"library": True}).items():
            self._add_project(name, spec if isinstance(spec, HarborProject) else HarborProject(public=spec))

    # state for tests ----------------------------------------------------------------------------------------
    def _add_project(self, name: str, project: HarborProject) -> HarborProject:
        with self._lock:
            project.project_id = project.project_id or len(self.projects) + 1
            project.creation_time = project.creation_time or _now_text()
            self.projects[name] = project
        return project

    def charts_of(self, project: str) -> dict[str, dict[str, bytes]]:
        """Charts stored in a project's chartrepo: name -> version -> bytes."""
        return self.backend.charts_of(project)

    # identity and permissions ------------------------------------------------------------------------------
    def identity(self, request: Request) -> str | None:
        """The Basic user, or None. Wrong credentials count as anonymous rather than failing (§2.6)."""
        header = request.header("Authorization") or ""
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if user in self.users and self.users[user] == password else None

    def is_admin(self, user: str | None) -> bool:
        return user is not None and user in self.admins

    def allowed_actions(self, user: str | None, project_name: str) -> frozenset[str]:
        """Registry actions (``pull``/``push``/``delete``) ``user`` has in a project; empty if it is missing."""
        project = self.projects.get(project_name)
        if project is None:
            return frozenset()
        if self.is_admin(user):
            return frozenset({"pull", "push", "delete", "*"})
        actions: set[str] = {"pull"} if project.public else set()
        if user is not None:
            actions |= ROLE_ACTIONS.get(project.members.get(user, ""), frozenset())
            if user.startswith(f"robot${project_name}+"):
                actions |= {"pull", "push"}
        return frozenset(actions)

    def _denied(self, user: str | None) -> Reply:
        if user is None:
            return harbor_error(401, "UnAuthorized")
        return harbor_error(403, user)

    def _prepare(self, request: Request, project: str, action: str) -> tuple[str | None, Reply | None]:
        """chartrepo ``Prepare()``: the project must exist, then the caller needs ``action`` (§2.3)."""
        user = self.identity(request)
        if project not in self.projects:
            if self.is_admin(user):
                return user, harbor_error(404, f"project {project} not found")
            return user, self._denied(user)
        if action not in self.allowed_actions(user, project):
            return user, self._denied(user)
        return user, None

    # routing ----------------------------------------------------------------------------------------------
    @property
    def project_creation_restriction(self) -> str:
        return "adminonly" if self.only_admins_create_projects else "everyone"

    def handle(self, request: Request) -> Reply:
        if self.registry is not None and (request.path == "/v2" or request.path.startswith("/v2/")):
            return self._registry_proxy(request)
        cookies = _cookies(request)
        carries_session = "sid" in cookies
        checked = carries_session or not request.path.startswith(_CSRF_EXEMPT)
        refused, csrf_headers = self._csrf(request, cookies) if checked else (None, [])
        reply = refused or self._core(request)
        reply.headers.extend(csrf_headers if refused is None else [])
        if not carries_session:  # beego starts a session for every core request and sends its cookie
            sid = secrets.token_hex(16)
            with self._lock:
                self.sessions.add(sid)
            reply.headers.append(("Set-Cookie", f"sid={sid}; Path=/; HttpOnly"))
        return reply

    def _csrf(self, request: Request, cookies: dict[str, str]) -> tuple[Reply | None, list[tuple[str, str]]]:
        """gorilla/csrf as Harbor configures it (header ``X-Harbor-CSRF-Token``, cookie ``_gorilla_csrf``):
        (the 403 refusal or None, the token headers every checked reply carries)."""
        real = cookies.get("_gorilla_csrf")
        with self._lock:
            known = real in self.csrf_tokens
        issued: list[tuple[str, str]] = []
        if not known:
            real = secrets.token_hex(16)
            with self._lock:
                self.csrf_tokens.add(real)
            issued.append(("Set-Cookie", f"_gorilla_csrf={real}; Path=/; HttpOnly; SameSite=Strict"))
        issued.append(("X-Harbor-Csrf-Token", str(real)))
        if request.method not in _SAFE_METHODS:
            sent = request.header("X-Harbor-CSRF-Token")
            if not sent or sent != real:
                reason = "CSRF token not found in request" if not sent else "CSRF token invalid"
                return harbor_error(403, reason, list(issued)), issued
        return None, issued

    def _core(self, request: Request) -> Reply:
        path, method = request.path, request.method
        if path == "/service/token":
            return self._token(request) if method == "GET" else _beego_405()
        if path.startswith("/api/v2.0/"):
            reply = self._api_v2(request, path[len("/api/v2.0") :])
            reply.headers.append(("X-Request-Id", secrets.token_hex(8)))
            return reply
        if self.chartrepo_enabled and method != "HEAD":
            self.backend.chart_url = f"{self.url}/chartrepo" if self.chart_absolute_url else ""
            routed: Reply | None = None
            if path.startswith("/chartrepo/"):
                routed = self._chartrepo(request, path[len("/chartrepo/") :].split("/"))
            elif path.startswith("/api/chartrepo/"):
                routed = self._api_chartrepo(request, path[len("/api/chartrepo/") :].split("/"))
            if routed is not None:
                return routed
        return Reply(404, _NOT_FOUND_PAGE, "text/html; charset=utf-8")  # beego's ErrorController 404 page

    def error_reply(self, status: int) -> Reply:
        from http import HTTPStatus

        return harbor_error(status, HTTPStatus(status).phrase.lower() if status < 600 else "error")

    # chartrepo reads (proxied) -------------------------------------------------------------------------------
    def _chartrepo(self, request: Request, parts: list[str]) -> Reply | None:
        if request.method != "GET":
            return None
        if parts == ["index.yaml"]:
            user = self.identity(request)
            return self._merged_index() if self.is_admin(user) else self._denied(user)
        if (len(parts) == 2 and parts[1] == "index.yaml") or (len(parts) == 3 and parts[1] == "charts"):
            _, problem = self._prepare(request, parts[0], "pull")
            return problem or self._proxy(request, "/" + "/".join(parts))
        return None

    def _merged_index(self) -> Reply:
        """``GET /chartrepo/index.yaml`` (sysadmin): every project's entries as ``P/name``."""
        entries: dict[str, Any] = {}
        for project in sorted(self.projects):
            for name, versions in self.backend.index_entries(project).items():
                for version in versions:
                    version["urls"] = [f"{project}/{u}" if not u.startswith("http") else u for u in version["urls"]]
                entries[f"{project}/{name}"] = versions
        doc = {"apiVersion": "v1", "entries": entries, "generated": _now_text(), "serverInfo": {}}
        return Reply(200, yaml.safe_dump(doc, sort_keys=True).encode(), YAML_TYPE)

    def _proxy(
        self, request: Request, backend_path: str, *, body: bytes | None = None, content_type: str = ""
    ) -> Reply:
        """Forward to the embedded ChartMuseum and rewrite its errors as Harbor's proxy does (§2.3 step 5)."""
        headers = request.headers
        if body is not None:
            headers = Message()
            headers["Content-Type"] = content_type
        forwarded = Request(request.method, backend_path, backend_path, request.query, headers, request.body)
        if body is not None:
            forwarded.body = body
        reply = self.backend.handle(forwarded)
        if reply.status < 400:
            return reply
        if reply.status == 401:
            return json_reply(500, {"error": "operation request from unauthorized source is rejected"})
        try:
            message = json.loads(reply.body)["error"]
        except (ValueError, KeyError, TypeError):
            message = reply.body.decode("utf-8", "replace")
        return json_reply(reply.status, {"error": message})

    # /api/chartrepo -------------------------------------------------------------------------------------------
    def _api_chartrepo(self, request: Request, parts: list[str]) -> Reply | None:
        method = request.method
        if parts == ["health"] and method == "GET":
            user = self.identity(request)
            return json_reply(200, {"healthy": True}) if self.is_admin(user) else self._denied(user)
        if parts == ["charts"] and method == "POST":
            parts = ["library", "charts"]
        if len(parts) < 2 or not parts[0]:
            return None
        project, rest = parts[0], parts[1:]
        if rest == ["prov"] and method == "POST":
            return self._prepare(request, project, "push")[1] or self._proxy(request, f"/api/{project}/prov")
        if rest[0] != "charts" or len(rest) > 3:
            return None
        action = {"GET": "pull", "POST": "push", "DELETE": "delete"}.get(method)
        if action is None or (method == "POST" and len(rest) != 1) or (method == "DELETE" and len(rest) == 1):
            return None
        _, problem = self._prepare(request, project, action)
        if problem is not None:
            return problem
        if method == "POST":
            return self._upload(request, project)
        if method == "DELETE":
            return self._delete(request, project, rest[1:])
        if len(rest) == 1:
            return self._chart_list(project)
        if len(rest) == 2:
            return self._chart_versions(project, rest[1])
        return self._chart_details(project, rest[1], rest[2])

    def _upload(self, request: Request, project: str) -> Reply:
        media_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != "multipart/form-data":
            return self._proxy(request, f"/api/{project}/charts")
        try:
            fields = parse_multipart(request.header("Content-Type") or "", request.body)
        except ValueError:
            fields = {}
        if "chart" not in fields:
            return harbor_error(500, "internal server error")
        boundary = secrets.token_hex(16)
        body = b""
        for name in ("chart", "prov"):
            if name in fields:
                body += (
                    (
                        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                        "Content-Type: application/octet-stream\r\n\r\n"
                    ).encode()
                    + fields[name]
                    + b"\r\n"
                )
        body += f"--{boundary}--\r\n".encode()
        content_type = f"multipart/form-data; boundary={boundary}"
        return self._proxy(request, f"/api/{project}/charts", body=body, content_type=content_type)

    def _delete(self, request: Request, project: str, rest: list[str]) -> Reply:
        if len(rest) == 2:
            reply = self._proxy(request, f"/api/{project}/charts/{rest[0]}/{rest[1]}")
            if reply.status != 200:
                return harbor_error(reply.status, json.loads(reply.body)["error"])
            return Reply(200)
        versions = self.backend.index_entries(project, consume=False).get(rest[0])
        if not versions:
            return harbor_error(404, "chart not found")
        for version in versions:
            self._proxy(request, f"/api/{project}/charts/{rest[0]}/{version['version']}")
        return Reply(200)

    def _chart_list(self, project: str) -> Reply:
        infos = []
        for name, versions in sorted(self.backend.index_entries(project).items()):
            latest, oldest = versions[0], versions[-1]
            infos.append(
                {
                    "name": name,
                    "total_versions": len(versions),
                    "latest_version": latest["version"],
                    "created": oldest["created"],
                    "updated": latest["created"],
                    "icon": latest.get("icon", ""),
                    "home": latest.get("home", ""),
                    "deprecated": bool(latest.get("deprecated", False)),
                }
            )
        return json_reply(200, infos)

    def _chart_versions(self, project: str, name: str) -> Reply:
        versions = self.backend.index_entries(project).get(name)
        if not versions:
            return harbor_error(404, "fail to get chart: chart not found")
        return json_reply(200, [{**v, "labels": []} for v in versions])

    def _chart_details(self, project: str, name: str, version: str) -> Reply:
        found = self.backend.lookup_version(project, name, version)
        if isinstance(found, str):
            return harbor_error(404, f"fail to get chart version: {found}")
        filename = str(found["urls"][0]).rsplit("/", 1)[-1]
        with self.backend._lock:
            objects = self.backend.storage.get(project, {})
            content = objects[filename].content
            signed = filename + ".prov" in objects
        try:
            chart = load_chart(content)
        except ChartError as exc:
            return harbor_error(500, str(exc))
        files = {k: v.decode("utf-8", "replace") for k, v in chart.files.items() if k in ("values.yaml", "README.md")}
        details = {
            "metadata": found,
            "dependencies": chart.metadata.get("dependencies") or [],
            "values": _flatten(chart.values()),
            "files": files,
            "security": {"signature": {"signed": signed, "prov_file": f"charts/{filename}.prov" if signed else ""}},
            "labels": [],
        }
        return json_reply(200, details)

    # /api/v2.0 --------------------------------------------------------------------------------------------
    def _api_v2(self, request: Request, path: str) -> Reply:
        method = request.method
        if path == "/ping" and method == "GET":
            return Reply(200, b"Pong", "text/plain")
        if path == "/systeminfo" and method == "GET":
            return json_reply(200, self._systeminfo(request))
        if path == "/projects":
            if method == "HEAD":
                return self._head_project(request)
            if method == "GET":
                return self._list_projects(request)
            if method == "POST":
                return self._create_project(request)
        if path.startswith("/projects/") and path.count("/") == 2 and method in ("GET", "HEAD"):
            return self._get_project(request, path[len("/projects/") :])
        return harbor_error(404, f"path {request.path} was not found")

    def _systeminfo(self, request: Request) -> dict[str, Any]:
        """``GeneralInfo``: anonymous callers see three fields; the protected ones need a login (HEAD
        src/controller/systeminfo). ``with_chartmuseum`` exists only up to 2.7."""
        info: dict[str, Any] = {"auth_mode": "db_auth", "harbor_version": self.harbor_version}
        info["self_registration"] = False
        if self.identity(request) is None:
            return info
        info.update(
            {
                "external_url": self.url,
                "has_ca_root": False,
                "notification_enable": True,
                "project_creation_restriction": self.project_creation_restriction,
                "read_only": False,
                "registry_storage_provider_name": "filesystem",
                "registry_url": self.host,
                "with_notary": False,
                "current_time": _now_text(),
            }
        )
        if self.chartrepo_enabled:
            info["with_chartmuseum"] = True
        return info

    # /v2 in front of a real registry ---------------------------------------------------------------------
    def _registry_proxy(self, request: Request) -> Reply:
        """Harbor's nginx sends ``/v2`` to the registry (through core's auth, which a token-auth registry
        reproduces); the Host header is kept, so the registry's Location URLs name this front."""
        dropped = ("connection", "content-length", "transfer-encoding")
        headers: dict[str, str] = {}
        for name, value in request.headers.items():  # repeated headers (skopeo's Accept) are joined
            if name.lower() not in dropped:
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
        try:
            upstream = requests.request(
                request.method,
                f"http://{self.registry}{request.target}",
                headers=headers,
                data=request.body if request.body else None,
                allow_redirects=False,
                stream=True,
                timeout=30,
            )
        except requests.RequestException as exc:
            return Reply(502, f"registry unreachable: {exc}".encode(), "text/plain; charset=utf-8")
        with upstream:
            body = upstream.raw.read(decode_content=False) if request.method != "HEAD" else b""
        content_type = upstream.headers.get("Content-Type")
        kept = [
            (k, v)
            for k, v in upstream.headers.items()
            if k.lower() not in _NOT_FORWARDED and k.lower() != "content-type"
        ]
        if request.method == "HEAD" and "Content-Length" in upstream.headers:
            kept.append(("Content-Length", upstream.headers["Content-Length"]))
        return Reply(upstream.status_code, body, content_type, kept)

    def writes(self) -> list[Request]:
        """Requests that change state: project creation, chart uploads and deletes, registry pushes."""
        return [r for r in self.received if r.method in ("POST", "PUT", "PATCH", "DELETE")]

    def _project_json(self, name: str, project: HarborProject) -> dict[str, Any]:
        return {
            "project_id": project.project_id,
            "name": name,
            "owner_id": 1,
            "owner_name": "admin",
            "creation_time": project.creation_time,
            "update_time": project.creation_time,
            "deleted": False,
            "repo_count": 0,
            "chart_count": len(self.backend.charts_of(name)),
            "metadata": {"public": "true" if project.public else "false"},
        }

    def _head_project(self, request: Request) -> Reply:
        user = self.identity(request)
        if user is None:
            return harbor_error(401, "UnAuthorized")
        name = request.arg("project_name")
        if not name:
            return harbor_error(400, "project_name in query is required")
        return Reply(200) if name in self.projects else harbor_error(404, f"project {name} not found")

    def _visible_projects(self, user: str | None) -> list[tuple[str, HarborProject]]:
        return [
            (name, p)
            for name, p in sorted(self.projects.items(), key=lambda item: item[1].project_id)
            if p.public or self.is_admin(user) or (user is not None and self.allowed_actions(user, name))
        ]

    def _list_projects(self, request: Request) -> Reply:
        user = self.identity(request)
        wanted = request.arg("name")
        public = request.arg("public")
        found = [
            self._project_json(name, p)
            for name, p in self._visible_projects(user)
            if (not wanted or wanted in name) and (public is None or str(p.public).lower() == public.lower())
        ]
        return json_reply(200, found, [("X-Total-Count", str(len(found)))])

    def _get_project(self, request: Request, name_or_id: str) -> Reply:
        user = self.identity(request)
        name = name_or_id
        if name_or_id.isdigit() and (request.header("X-Is-Resource-Name") or "").lower() != "true":
            by_id = [n for n, p in self.projects.items() if p.project_id == int(name_or_id)]
            name = by_id[0] if by_id else ""
        project = self.projects.get(name)
        if project is None:
            return harbor_error(404, f"project {name_or_id} not found")
        if "pull" not in self.allowed_actions(user, name):
            return self._denied(user)
        return json_reply(200, self._project_json(name, project))

    def _create_project(self, request: Request) -> Reply:
        user = self.identity(request)
        if user is None:
            return harbor_error(401, "UnAuthorized")
        try:
            payload = json.loads(request.body or b"null")
        except ValueError as exc:
            return harbor_error(400, f'parsing project body from "" failed: {exc}')
        if not isinstance(payload, dict) or not isinstance(payload.get("project_name"), str):
            return harbor_error(400, "validation failure list:\nproject_name in body is required")
        name = payload["project_name"]
        if not (1 <= len(name) <= 255 and _PROJECT_NAME.match(name)):
            return harbor_error(400, "project name is not in lower case or contains illegal characters")
        metadata = payload.get("metadata") or {}
        public_text = metadata.get("public") if isinstance(metadata, dict) else None
        if public_text is not None and public_text not in ("true", "false"):
            return harbor_error(400, f"invalid bool value: {public_text}")
        public = public_text == "true" if public_text is not None else payload.get("public") is True
        if user.startswith("robot$") and "+" in user:
            return harbor_error(403, "Only system level robot can create project")
        if self.only_admins_create_projects and not self.is_admin(user):
            return harbor_error(403, "Only system admin can create project")
        with self._lock:
            if name in self.projects:
                return harbor_error(409, f"The project named {name} already exists")
            members = {} if user.startswith("robot$") else {user: "projectAdmin"}
            project = self._add_project(name, HarborProject(public=public, members=members))
        by_name = (request.header("X-Resource-Name-In-Location") or "").lower() == "true"
        location = f"/api/v2.0/projects/{name if by_name else project.project_id}"
        return Reply(201, headers=[("Location", location)])

    # /service/token ---------------------------------------------------------------------------------------
    def _token(self, request: Request) -> Reply:
        """Harbor's registry token service (§2.9): grants the intersection of asked and allowed."""
        service = request.arg("service") or ""
        if service != HARBOR_SERVICE:
            return Reply(400, f"Unable to handle service: {service}".encode(), "text/plain; charset=utf-8")
        user = self.identity(request)
        scopes = parse_scopes(request.query.get("scope", []))
        if user is None and not scopes:
            return Reply(401)
        granted: list[ResourceScope] = []
        for scope in scopes:
            if scope.type == "repository":
                allowed = self.allowed_actions(user, scope.name.split("/", 1)[0])
                wanted = ("pull", "push", "delete") if "*" in scope.actions else scope.actions
                actions = tuple(a for a in wanted if a in allowed)
            elif scope.type == "registry" and scope.name == "catalog":
                actions = scope.actions if self.is_admin(user) else ()
            else:
                actions = ()
            granted.append(ResourceScope(scope.type, scope.name, actions))
        issued = dt.datetime.now(dt.UTC).replace(microsecond=0)
        token = self.signer.issue(user or "", granted, now=issued.timestamp())
        body = {
            "token": token,
            "access_token": "",
            "expires_in": self.token_expiration_minutes * 60,
            "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return Reply(200, json.dumps(body).encode(), JSON_TYPE)


@contextlib.contextmanager
def harbor_with_registry(
    workdir: Path, users: Mapping[str, str], projects: Mapping[str, HarborProject | bool] | None = None, **kwargs: Any
) -> Iterator[tuple[HarborDouble, Any]]:
    """A whole Harbor on one address: this double (API, chartrepo, token service) fronting a real
    ``docker-registry`` that trusts its tokens, as Harbor's nginx fronts core and the registry.

    Yields ``(harbor, registry_process)``; images pushed to ``harbor.host`` land in the registry, which only
    lets through what the token service grants (nothing in a project that does not exist).
    """
    from tests.doubles.tokens import registry_token_config
    from tests.infra.registry import start_registry

    with HarborDouble(users, projects, **kwargs) as harbor:
        cert, _ = harbor.signer.write_to(workdir / "harbor-signer")
        auth = registry_token_config(f"{harbor.url}/service/token", cert)
        with start_registry(workdir / "harbor-registry", extra_config={"auth": auth}) as registry:
            harbor.registry = registry.host
            yield harbor, registry


def _cookies(request: Request) -> dict[str, str]:
    cookie = SimpleCookie()
    try:
        cookie.load(request.header("Cookie") or "")
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in cookie.items()}


def _beego_405() -> Reply:
    return Reply(405, b"Method Not Allowed\n", "text/plain; charset=utf-8")
