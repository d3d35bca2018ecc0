"""A ChartMuseum test double that answers like ChartMuseum v0.16 (spec §1, checklist §6.1).

ChartMuseum cannot be installed on the build machines, so this is a real HTTP server on 127.0.0.1 that
reproduces its routing (context path, depth), upload rules (raw vs multipart, force, overwrite), lookups
(exact version first, then Helm's semver-constraint fallback), ``index.yaml`` and auth replies, byte for
byte where the spec gives the bytes. The module also holds the small HTTP server base the Harbor double
reuses, and Harbor's embedded ChartMuseum *is* an instance of this class.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import re
import tarfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from tests.doubles.tokens import TokenSigner

JSON_TYPE = "application/json; charset=utf-8"
YAML_TYPE = "application/x-yaml"
MiB = 1024 * 1024

# ---------------------------------------------------------------------------------------------------------
# HTTP plumbing shared by the doubles
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Request:
    """One received request, kept whole so tests can assert headers and bodies afterwards."""

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """A response; ``content_type`` None means no Content-Type header (Go's ``c.Status``)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False


class LoggedRequest(NamedTuple):
    """``(method, path, status)``: what tests usually assert about traffic; path has no query string."""

    method: str
    path: str
    status: int


def json_reply(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """gin's ``c.JSON``: compact JSON, no trailing newline, ``application/json; charset=utf-8``."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, body, JSON_TYPE, list(headers))


@dataclass
class _Fault:
    status: int  # 0 drops the connection without an answer
    remaining: int
    reply: Reply | None
    method: str | None
    path_contains: str | None

    def matches(self, request: Request) -> bool:
        if self.method is not None and request.method != self.method.upper():
            return False
        return self.path_contains is None or self.path_contains in request.path


class HttpDouble:
    """Runs :meth:`handle` behind a ``ThreadingHTTPServer`` on a free 127.0.0.1 port in a daemon thread."""

    server_name = "test-double"

    def __init__(self) -> None:
        self.requests: list[LoggedRequest] = []
        self.received: list[Request] = []
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.server_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the form registries and docker config keys use."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    # fault injection -------------------------------------------------------------------------------------
    def fail_next(
        self,
        status: int = 500,
        times: int = 1,
        *,
        body: bytes | Mapping[str, Any] | None = None,
        content_type: str | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` instead of handling them.

        The default body is what this server sends for that status on its own (see :meth:`error_reply`),
        so a client sees a realistic failure, e.g. to exercise retries.
        """
        if body is None:
            reply = None
        elif isinstance(body, bytes):
            reply = Reply(status, body, content_type or "text/plain; charset=utf-8")
        else:
            reply = json_reply(status, dict(body))
        with self._lock:
            self._faults.append(_Fault(status, times, reply, method, path_contains))

    def drop_next(self, times: int = 1, *, method: str | None = None, path_contains: str | None = None) -> None:
        """Close the next matching connections without any answer (a reset seen by the client)."""
        with self._lock:
            self._faults.append(_Fault(0, times, None, method, path_contains))

    def error_reply(self, status: int) -> Reply:
        """This server's own body for a bare error status; subclasses follow their product's shape."""
        return json_reply(status, {"error": _reason(status).lower()})

    # request handling ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def _serve(self, request: Request) -> Reply | None:
        with self._lock:
            self.received.append(request)
            fault = next((f for f in self._faults if f.remaining > 0 and f.matches(request)), None)
            if fault is not None:
                fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
        if fault is None:
            try:
                reply: Reply | None = self.handle(request)
            except Exception as exc:  # a bug in the double must show up as a 500, not a hung client
                reply = Reply(500, f"test double crashed: {exc!r}".encode(), "text/plain; charset=utf-8")
        elif fault.status == 0:
            reply = None
        else:
            reply = fault.reply or self.error_reply(fault.status)
        with self._lock:
            self.requests.append(LoggedRequest(request.method, request.path, reply.status if reply else 0))
        return reply


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _make_handler(double: HttpDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def _dispatch(self) -> None:
            body = self._read_body()
            split = urlsplit(self.path)
            request = Request(
                method=self.command,
                target=self.path,
                path=unquote(split.path),
                query=parse_qs(split.query, keep_blank_values=True),
                headers=self.headers,
                body=body,
            )
            reply = double._serve(request)
            if reply is None:
                self.close_connection = True
                return
            self.send_response(reply.status)
            if reply.content_type is not None:
                self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers:
                self.send_header(name, value)
            if not any(name.lower() == "content-length" for name, _ in reply.headers):  # a HEAD may give its own
                self.send_header("Content-Length", str(len(reply.body)))
            if reply.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD" and reply.body:
                self.wfile.write(reply.body)

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the per-request stderr lines; ``double.requests`` is the log."""

    return Handler


# ---------------------------------------------------------------------------------------------------------
# Semantic versions and Helm's IndexFile.Get constraint fallback
# ---------------------------------------------------------------------------------------------------------

_VERSION_RE = re.compile(
    r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_TERM_RE = re.compile(
    r"^(>=|=>|<=|=<|!=|~>|=|>|<|~|\^)?v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)

VersionKey = tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]


def parse_version(text: str) -> VersionKey | None:
    """Masterminds ``NewVersion`` (lenient: ``v`` prefix, missing minor/patch) as a sortable key."""
    m = _VERSION_RE.match(text)
    if m is None:
        return None
    major, minor, patch = (int(g) if g else 0 for g in m.group(1, 2, 3))
    pre = m.group(4)
    if not pre:
        return (major, minor, patch, 1, ())
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (major, minor, patch, 0, ids)


def _bound(nums: list[int], pre: str | None) -> VersionKey:
    key = parse_version(f"{nums[0]}.{nums[1]}.{nums[2]}" + (f"-{pre}" if pre else ""))
    assert key is not None
    return key


def _below(major: int, minor: int, patch: int) -> VersionKey:
    """An exclusive upper bound that sorts under every release *and* prerelease of the given version."""
    return (major, minor, patch, 0, ())


def _check_term(op: str, parts: list[str | None], pre: str | None, version: VersionKey) -> bool:
    """One Masterminds term. Partial versions (``1.2``, ``1.x``) stand for the whole range they cover."""
    if version[3] == 0 and not pre:
        return False  # Masterminds: prereleases only satisfy constraints that name a prerelease
    given = [int(p) for p in parts if p is not None and p not in ("x", "X", "*")]
    if not given:
        return op not in ("!=", "<", ">")
    nums = given + [0] * (3 - len(given))
    low = _bound(nums, pre)
    bump = given[:-1] + [given[-1] + 1] + [0] * (3 - len(given))
    high = _below(*bump)  # end of the range a partial version covers
    partial = len(given) < 3
    if op in ("", "="):
        return low <= version < high if partial else version[:3] == low[:3] and (not pre or version == low)
    if op == "!=":
        return not (low <= version < high) if partial else version != low
    if op == ">":
        return version >= high if partial else version > low
    if op == "<":
        return version < low
    if op in (">=", "=>"):
        return version >= low
    if op in ("<=", "=<"):
        return version < high if partial else version <= low
    if op in ("~", "~>"):
        upper = _below(nums[0] + 1, 0, 0) if len(given) == 1 else _below(nums[0], nums[1] + 1, 0)
        return low <= version < upper
    # "^": the left-most non-zero part may not change
    if nums[0] > 0 or len(given) == 1:
        upper = _below(nums[0] + 1, 0, 0)
    elif nums[1] > 0 or len(given) == 2:
        upper = _below(0, nums[1] + 1, 0)
    else:
        upper = _below(0, 0, nums[2] + 1)
    return low <= version < upper


def constraint_matcher(constraint: str) -> Callable[[VersionKey], bool]:
    """A subset of Masterminds v3 constraints (``1.2``, ``~1.2``, ``^1``, ``>=1, <2``, ``||``).

    Raises ValueError with Masterminds' ``improper constraint: …`` message for anything else.
    """
    text = re.sub(r"(>=|=>|<=|=<|!=|~>|=|>|<|~|\^)\s+", r"\1", constraint.strip() or "*")
    groups: list[list[tuple[str, list[str | None], str | None]]] = []
    for group in text.split("||"):
        terms = []
        for raw in re.split(r"[,\s]+", group.strip()):
            if not raw:
                continue
            m = _TERM_RE.match(raw)
            if m is None:
                raise ValueError(f"improper constraint: {constraint}")
            terms.append((m.group(1) or "", [m.group(2), m.group(3), m.group(4)], m.group(5)))
        if not terms:
            raise ValueError(f"improper constraint: {constraint}")
        groups.append(terms)
    return lambda v: any(all(_check_term(op, parts, pre, v) for op, parts, pre in g) for g in groups)


# ---------------------------------------------------------------------------------------------------------
# Chart archives
# ---------------------------------------------------------------------------------------------------------


class ChartError(ValueError):
    """The Helm loader's complaint about an archive; ChartMuseum returns its text as the 400 body."""


@dataclass
class LoadedChart:
    metadata: dict[str, Any]
    files: dict[str, bytes]

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tgz"

    def values(self) -> dict[str, Any]:
        loaded = yaml.safe_load(self.files.get("values.yaml", b"") or b"{}")
        return loaded if isinstance(loaded, dict) else {}


def load_chart(content: bytes) -> LoadedChart:
    """Read a chart ``.tgz`` the way Helm's ``loader.LoadArchive`` + ``Metadata.Validate`` do."""
    if content[:2] != b"\x1f\x8b":
        raise ChartError("gzip: invalid header")
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                parts = member.name.replace("\\", "/").lstrip("./").split("/", 1)
                if len(parts) < 2 or not parts[1]:
                    continue
                extracted = tar.extractfile(member)
                files[parts[1]] = extracted.read() if extracted else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ChartError(str(exc) or type(exc).__name__) from exc
    if not files:
        raise ChartError("no files in chart archive")
    if "Chart.yaml" not in files:
        raise ChartError("Chart.yaml file is missing")
    try:
        metadata = yaml.safe_load(files["Chart.yaml"])
    except yaml.YAMLError as exc:
        raise ChartError(f"cannot load Chart.yaml: error converting YAML to JSON: {exc}") from exc
    if not isinstance(metadata, dict):
        raise ChartError("cannot load Chart.yaml: chart metadata is not a mapping")
    for key in ("apiVersion", "name", "version"):
        if not metadata.get(key):
            raise ChartError(f"validation: chart.metadata.{key} is required")
    metadata["version"] = str(metadata["version"])
    if parse_version(metadata["version"]) is None:
        raise ChartError(f'validation: chart.metadata.version "{metadata["version"]}" is invalid')
    return LoadedChart(metadata, files)


def make_chart_tgz(
    name: str,
    version: str,
    *,
    api_version: str = "v2",
    app_version: str | None = None,
    values: str = "replicaCount: 1\nimage:\n  repository: nginx\n  tag: stable\n",
    extra_chart_yaml: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> bytes:
    """A minimal, reproducible chart archive (fixed mtimes, gzip without a timestamp)."""
    chart: dict[str, Any] = {"apiVersion": api_version, "name": name, "version": version}
    if app_version is not None:
        chart["appVersion"] = app_version
    chart.update(extra_chart_yaml or {})
    members = {"Chart.yaml": yaml.safe_dump(chart, sort_keys=False).encode(), "values.yaml": values.encode()}
    members.update(extra_files or {})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in members.items():
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


_PROV_HEADER = "-----BEGIN PGP SIGNED MESSAGE-----"


def prov_filename(content: bytes) -> str:
    """``<name>-<version>.tgz.prov`` from a provenance file's ``name:``/``version:`` lines."""
    text = content.decode("utf-8", "replace")
    name = re.search(r"^name:\s*(\S+)\s*$", text, re.M)
    version = re.search(r"^version:\s*(\S+)\s*$", text, re.M)
    if _PROV_HEADER not in text or name is None or version is None:
        raise ChartError("invalid provenance file")
    return f"{name.group(1)}-{version.group(1)}.tgz.prov"


def _rfc3339nano(moment: dt.datetime) -> str:
    """Go's ``time.RFC3339Nano`` for a UTC time (trailing zeros of the fraction dropped)."""
    text = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


_METADATA_ORDER = (
    *("name", "home", "sources", "version", "description", "keywords", "maintainers", "icon", "apiVersion"),
    *("condition", "tags", "appVersion", "deprecated", "annotations", "kubeVersion", "dependencies", "type"),
)


# ---------------------------------------------------------------------------------------------------------
# The ChartMuseum double
# ---------------------------------------------------------------------------------------------------------


@dataclass
class StoredObject:
    content: bytes
    created: dt.datetime
    hidden_reads: int = 0  # "index lags behind uploads": index-backed reads that still miss this object


@dataclass
class BearerAuth:
    """ChartMuseum ``--bearer-auth``: RS256 JWTs from ``signer``, actions read from the ``access`` claim."""

    realm: str
    service: str
    signer: TokenSigner


class ChartMuseumDouble(HttpDouble):
    """ChartMuseum's HTTP API (spec §1). ``charts`` shows what is stored for the empty tenant."""

    server_name = "chartmuseum-double"

    def __init__(
        self,
        basic_auth: tuple[str, str] | None = None,
        context_path: str = "",
        depth: int = 0,
        allow_overwrite: bool = False,
        *,
        disable_force_overwrite: bool = False,
        disable_api: bool = False,
        disable_delete: bool = False,
        bearer_auth: BearerAuth | None = None,
        anonymous_get: bool = False,
        max_upload_size: int = 20 * MiB,
        max_storage_objects: int = 0,
        chart_url: str = "",
        index_lag: int = 0,
        chart_field: str = "chart",
        prov_field: str = "prov",
        version: str = "0.16.5",
    ) -> None:
        super().__init__()
        self.basic_auth = basic_auth
        self.context_path = context_path.rstrip("/")
        self.depth = depth
        self.allow_overwrite = allow_overwrite
        self.disable_force_overwrite = disable_force_overwrite
        self.disable_api = disable_api
        self.disable_delete = disable_delete
        self.bearer_auth = bearer_auth
        self.anonymous_get = anonymous_get
        self.max_upload_size = max_upload_size
        self.max_storage_objects = max_storage_objects
        self.chart_url = chart_url.rstrip("/")
        self.index_lag = index_lag
        self.chart_field = chart_field
        self.prov_field = prov_field
        self.version = version
        self.storage: dict[str, dict[str, StoredObject]] = {}

    # state for tests ----------------------------------------------------------------------------------------
    def charts_of(self, tenant: str) -> dict[str, dict[str, bytes]]:
        """Stored chart archives of one tenant: name -> version -> bytes (read from each Chart.yaml)."""
        result: dict[str, dict[str, bytes]] = {}
        with self._lock:
            objects = dict(self.storage.get(tenant, {}))
        for filename, obj in objects.items():
            if filename.endswith(".tgz"):
                try:
                    chart = load_chart(obj.content)
                except ChartError:
                    continue
                result.setdefault(chart.name, {})[chart.version] = obj.content
        return result

    @property
    def charts(self) -> dict[str, dict[str, bytes]]:
        return self.charts_of("")

    def add_chart(self, content: bytes, tenant: str = "") -> str:
        """Seed storage directly (no HTTP, no lag); returns the stored file name."""
        chart = load_chart(content)
        with self._lock:
            self.storage.setdefault(tenant, {})[chart.filename] = StoredObject(content, _now())
        return chart.filename

    def sync_index(self) -> None:
        """End any simulated index lag now."""
        with self._lock:
            for objects in self.storage.values():
                for obj in objects.values():
                    obj.hidden_reads = 0

    # routing --------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        path = request.path
        if self.context_path:
            if path == self.context_path:
                path = "/"
            elif path.startswith(self.context_path + "/"):
                path = path[len(self.context_path) :]
            else:
                return self._not_found()
        if len(request.body) > self.max_upload_size:
            return Reply(413, b"request too large", "text/plain; charset=utf-8", close=True)
        method = request.method
        if path == "/health" and method == "GET":
            return json_reply(200, {"healthy": True})
        if path == "/info" and method == "GET":
            return json_reply(200, {"version": self.version})
        if path == "/" and method == "GET":
            return self._authorized(request, "", "pull") or Reply(200, _WELCOME, "text/html")

        segments = path.strip("/").split("/")
        is_api = path.startswith("/api/") and not path.endswith((".yaml", ".tgz", ".prov"))
        if is_api:
            if self.disable_api:
                return self._not_found()
            segments = segments[1:]
        if len(segments) <= self.depth or any(not s for s in segments):
            return self._not_found()
        tenant, rest = "/".join(segments[: self.depth]), segments[self.depth :]
        route = self._match(is_api, method, rest)
        if route is None:
            return self._not_found()
        action, handler = route
        return self._authorized(request, tenant, action) or handler(request, tenant, rest)

    def _match(
        self, is_api: bool, method: str, rest: list[str]
    ) -> tuple[str, Callable[[Request, str, list[str]], Reply]] | None:
        n = len(rest)
        if not is_api:
            if rest == ["index.yaml"] and method in ("GET", "HEAD"):
                return "pull", self._get_index
            if n == 2 and rest[0] == "charts" and method == "GET":
                return "pull", self._get_object
            return None
        if rest[0] == "prov" and n == 1 and method == "POST":
            return "push", self._post_prov
        if rest[0] != "charts":
            return None
        if n == 1:
            return {"GET": ("pull", self._list_charts), "POST": ("push", self._post_chart)}.get(method)
        if n == 2 and method in ("GET", "HEAD"):
            return "pull", self._get_chart
        if n == 3 and method in ("GET", "HEAD"):
            return "pull", self._get_chart_version
        if n == 3 and method == "DELETE" and not self.disable_delete:
            return "push", self._delete_chart_version
        if n == 4 and rest[3] in ("templates", "values") and method == "GET":
            return "pull", self._get_chart_extra
        return None

    def _not_found(self) -> Reply:
        return json_reply(404, {"error": "not found"})

    def _authorized(self, request: Request, tenant: str, action: str) -> Reply | None:
        """None when allowed, else the 401 reply of the configured auth mode (spec §1.7)."""
        if action == "pull" and self.anonymous_get:
            return None
        if self.basic_auth is not None:
            user, password = self.basic_auth
            expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            if request.header("Authorization") == expected:
                return None
            return json_reply(401, {"error": "unauthorized"}, [("WWW-Authenticate", 'Basic realm="ChartMuseum"')])
        if self.bearer_auth is not None:
            namespace = tenant or "repo"
            if self._bearer_allows(request, namespace, action):
                return None
            challenge = (
                f'Bearer realm="{self.bearer_auth.realm}",service="{self.bearer_auth.service}",'
                f'scope="artifact-repository:{namespace}:{action}"'
            )
            return json_reply(401, {"error": "unauthorized"}, [("WWW-Authenticate", challenge)])
        return None

    def _bearer_allows(self, request: Request, namespace: str, action: str) -> bool:
        assert self.bearer_auth is not None
        header = request.header("Authorization") or ""
        if not header.startswith("Bearer "):
            return False
        try:
            claims = self.bearer_auth.signer.verify(header[len("Bearer ") :], check_audience=False)
        except ValueError:
            return False
        granted = [
            a
            for entry in claims.get("access") or []
            if entry.get("type") == "artifact-repository" and entry.get("name") == namespace
            for a in entry.get("actions") or []
        ]
        return action in granted or "*" in granted

    # index -------------------------------------------------------------------------------------------------
    def _visible(self, tenant: str, *, consume: bool) -> dict[str, StoredObject]:
        with self._lock:
            objects = self.storage.get(tenant, {})
            visible = {k: v for k, v in objects.items() if v.hidden_reads <= 0}
            if consume:
                for obj in objects.values():
                    obj.hidden_reads = max(0, obj.hidden_reads - 1)
            return visible

    def chart_version_json(self, tenant: str, filename: str, obj: StoredObject, chart: LoadedChart) -> dict[str, Any]:
        """Helm's ``repo.ChartVersion``: Chart.yaml fields, then ``urls``, ``created``, ``digest``."""
        entry = {k: chart.metadata[k] for k in _METADATA_ORDER if chart.metadata.get(k) not in (None, "", [], {})}
        if self.chart_url:
            prefix = "/".join(p for p in (self.chart_url + self.context_path, tenant) if p)
            url = f"{prefix}/charts/{filename}"
        else:
            url = f"charts/{filename}"
        entry["urls"] = [url]
        entry["created"] = _rfc3339nano(obj.created)
        entry["digest"] = hashlib.sha256(obj.content).hexdigest()
        return entry

    def index_entries(self, tenant: str, *, consume: bool = True) -> dict[str, list[dict[str, Any]]]:
        """Entries as Helm sorts them: per chart, newest version first; only valid ``*.tgz`` objects."""
        entries: dict[str, list[dict[str, Any]]] = {}
        for filename, obj in sorted(self._visible(tenant, consume=consume).items()):
            if not filename.endswith(".tgz"):
                continue
            try:
                chart = load_chart(obj.content)
            except ChartError:
                continue
            entries.setdefault(chart.name, []).append(self.chart_version_json(tenant, filename, obj, chart))
        for versions in entries.values():
            versions.sort(key=lambda e: _sort_key(str(e["version"])), reverse=True)
        return entries

    def index_document(self, tenant: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "entries": self.index_entries(tenant),
            "generated": _rfc3339nano(_now()),
            "serverInfo": {"contextPath": self.context_path} if self.context_path else {},
        }

    def _get_index(self, request: Request, tenant: str, rest: list[str]) -> Reply:
        if request.method == "HEAD":
            return Reply(200)
        body = yaml.safe_dump(self.index_document(tenant), sort_keys=True, default_flow_style=False)
        return Reply(200, body.encode(), YAML_TYPE)

    def lookup_version(self, tenant: str, name: str, version: str) -> dict[str, Any] | str:
        """Helm ``IndexFile.Get``: the entry, or the error text ChartMuseum puts in its 404."""
        versions = self.index_entries(tenant).get(name)
        if not versions:
            return "no chart name found"
        wanted = "" if version == "latest" else version
        try:
            matches = constraint_matcher(wanted)
        except ValueError as exc:
            return str(exc)
        for entry in versions:
            if wanted and entry["version"] == wanted:
                return entry
        for entry in versions:
            key = parse_version(str(entry["version"]))
            if key is not None and matches(key):
                return entry
        return f"no chart version found for {name}-{wanted}"

    # handlers ----------------------------------------------------------------------------------------------
    def _get_object(self, request: Request, tenant: str, rest: list[str]) -> Reply:
        filename = rest[1]
        if filename.endswith(".tgz"):
            content_type = "application/x-tar"
        elif filename.endswith(".prov"):
            content_type = "application/pgp-signature"
        else:
            return json_reply(500, {"error": "unsupported file extension"})
        with self._lock:
            obj = self.storage.get(tenant, {}).get(filename)
        if obj is None:
            return json_reply(404, {"error": "object not found"})
        return Reply(200, obj.content, content_type)

    def _list_charts(self, request: Request, tenant: str, rest: list[str]) -> Reply:
        offset, limit = 0, -1
        if (raw := request.arg("offset")) is not None:
            if not re.fullmatch(r"[+-]?\d+", raw) or int(raw) < 0:
                return json_reply(400, {"error": "offset is not a valid non-negative integer"})
            offset = int(raw)
        if (raw := request.arg("limit")) is not None:
            if not re.fullmatch(r"[+-]?\d+", raw) or int(raw) <= 0:
                return json_reply(400, {"error": "limit is not a valid positive integer"})
            limit = int(raw)
        entries = self.index_entries(tenant)
        if offset or limit != -1:
            names = sorted(entries)[offset : offset + limit if limit > 0 else None]
            entries = {n: entries[n] for n in names}
        return json_reply(200, entries)

    def _get_chart(self, request: Request, tenant: str, rest: list[str]) -> Reply:
        versions = self.index_entries(tenant).get(rest[1])
        if versions is None:
            return Reply(404) if request.method == "HEAD" else json_reply(404, {"error": "chart not found"})
        return Reply(200) if request.method == "HEAD" else json_reply(200, versions)

    def _get_chart_version(self, request: Request, tenant: str, rest: list[str]) -> Reply:
        found = self.lookup_version(tenant, rest[1], rest[2])
        if isinstance(found, str):
            return Reply(404) if request.method == "HEAD" else json_reply(404, {"error": found})
        return Reply(200) if request.method == "HEAD" else json_reply(200, found)

    def _get_chart_extra(self, request: Request, tenant: str, rest: list[str]) -> Reply:
        found = self.lookup_version(tenant, rest[1], rest[2])
        if isinstance(found, str):
            return json_reply(404, {"error": found})
        filename = str(found["urls"][0]).rsplit("/", 1)[-1]
        with self._lock:
            chart = load_chart(self.storage[tenant][filename].content)
        if rest[3] == "values":
            if "values.yaml" not in chart.files:
                return json_reply(404, {"error": "values.yaml not found"})
            return Reply(200, chart.files["values.yaml"], "application/yaml")
        templates = [
            {"name": k, "data": base64.b64encode(v).decode()}
            for k, v in chart.files.items()
            if k.startswith("templates/")
        ]
        return json_reply(200, {"templates": templates, "values": chart.values()})

    def _delete_chart_version(self, request: Request, tenant: str, rest: list[str]) -> Reply:
        filename = f"{rest[1]}-{rest[2]}.tgz"
        with self._lock:
            objects = self.storage.get(tenant, {})
            if filename not in objects:
                path = "/".join(p for p in (tenant, filename) if p)
                return json_reply(404, {"error": f"remove {path}: no such file or directory"})
            del objects[filename]
            objects.pop(filename + ".prov", None)
        return json_reply(200, {"deleted": True})

    def _force(self, request: Request) -> bool:
        return "force" in request.query and not self.disable_force_overwrite

    def _store_check(self, tenant: str, filename: str, force: bool) -> tuple[int, str] | None:
        """Storage-limit and conflict rules of ``uploadChartPackage``; None when the write may proceed."""
        if "/" in filename or filename in (".", ".."):
            return 400, f"{filename} is improperly formatted"
        with self._lock:
            objects = self.storage.get(tenant, {})
            exists = filename in objects
            if exists and not self.allow_overwrite and not force:
                return 409, "file already exists"
            if 0 < self.max_storage_objects <= len(objects) and not exists:
                return 507, "repo has reached storage limit"
        return None

    def _put(self, tenant: str, filename: str, content: bytes) -> None:
        with self._lock:
            objects = self.storage.setdefault(tenant, {})
            lag = self.index_lag if filename not in objects else 0
            objects[filename] = StoredObject(content, _now(), hidden_reads=lag)

    def _post_chart(self, request: Request, tenant: str, rest: list[str]) -> Reply:
        force = self._force(request)
        media_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if media_type != "multipart/form-data":
            try:
                filename = load_chart(request.body).filename
            except ChartError as exc:
                return json_reply(400, {"error": str(exc)})
            problem = self._store_check(tenant, filename, force)
            if problem is not None:
                return json_reply(problem[0], {"error": problem[1]})
            self._put(tenant, filename, request.body)
            return json_reply(201, {"saved": True})

        try:
            fields = parse_multipart(request.header("Content-Type") or "", request.body)
        except ValueError as exc:
            return json_reply(500, {"error": str(exc)})
        files: dict[str, bytes] = {}
        conflict = False
        lookups: list[tuple[str, Callable[[bytes], str]]] = [
            ("chart", lambda c: load_chart(c).filename),
            (self.chart_field, lambda c: load_chart(c).filename),
            ("prov", prov_filename),
            (self.prov_field, prov_filename),
        ]
        for field_name, name_of in lookups:
            content = fields.get(field_name)
            if content is None:
                continue
            try:
                filename = name_of(content)
            except ChartError as exc:
                return json_reply(400, {"error": str(exc)})
            if filename in files:
                continue
            problem = self._store_check(tenant, filename, force=True)  # conflicts are judged below
            if problem is not None:
                return json_reply(problem[0], {"error": problem[1]})
            with self._lock:
                conflict = conflict or filename in self.storage.get(tenant, {})
            files[filename] = content
        if conflict and not self.allow_overwrite and not force:
            return json_reply(409, {"error": "chart already exists"})
        if not files:
            message = f"no package or provenance file found in form fields {self.chart_field} and {self.prov_field}"
            return json_reply(400, {"error": message})
        for filename, content in files.items():
            self._put(tenant, filename, content)
        return json_reply(201, {"saved": True})

    def _post_prov(self, request: Request, tenant: str, rest: list[str]) -> Reply:
        try:
            filename = prov_filename(request.body)
        except ChartError as exc:
            return json_reply(500, {"error": str(exc)})
        problem = self._store_check(tenant, filename, self._force(request))
        if problem is not None:
            return json_reply(problem[0], {"error": problem[1]})
        self._put(tenant, filename, request.body)
        return json_reply(201, {"saved": True})


def _sort_key(version: str) -> tuple[int, VersionKey | tuple[()], str]:
    key = parse_version(version)
    return (1, key, version) if key is not None else (0, (), version)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """File and value parts of a ``multipart/form-data`` body by field name (first one wins)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.I)
    if match is None:
        raise ValueError("no multipart boundary param in Content-Type")
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, bytes] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        name = re.search(rb'name="([^"]*)"', head)
        if name is not None:
            fields.setdefault(name.group(1).decode(), content.removesuffix(b"\r\n"))
    return fields


_WELCOME = b"""<!DOCTYPE html>
<html>
<head>
<title>Welcome to ChartMuseum!</title>
</head>
<body>
<h1>Welcome to ChartMuseum!</h1>
<p>If you see this page, the ChartMuseum web server is successfully installed and
working.</p>
</body>
</html>
"""
