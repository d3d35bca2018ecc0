"""A reverse proxy in front of the real registry that injects the faults a registry will not produce
on demand: 429 with Retry-After, 5xx, 413 for large bodies, dropped connections, and stalls (the request
is read and never answered, as a hung registry or proxy does).

Everything else is forwarded unchanged (Host header included, so the registry's Location headers
point back at the proxy).
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.infra import serving

STALL_LIMIT = 60.0  # a stalled request is dropped after this, whatever the client does


@dataclass
class Fault:
    method: str  # one method, or several as "PUT|PATCH"
    path_contains: str
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    only_without_range: bool = False  # 413 for streamed PATCHes only, so chunked ones get through
    min_body: int = 0  # inject only for request bodies larger than this (a proxy's body limit)
    stall: bool = False  # read the request, then never answer (until the client gives up); status unused
    skip: int = 0  # let this many matching requests through before injecting


@dataclass
class FaultyProxy:
    upstream: str  # host:port of the real registry
    faults: list[Fault] = field(default_factory=list)
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    host: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, method: str, path: str, headers: dict[str, str], body_size: int = 0) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times <= 0 or method not in fault.method.split("|") or fault.path_contains not in path:
                    continue
                if fault.only_without_range and "content-range" in headers:
                    continue
                if body_size <= fault.min_body and fault.min_body:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                return fault
        return None


def _handler(proxy: FaultyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _handle(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            body = self._body() if self.command in ("POST", "PUT", "PATCH") else b""
            fault = proxy.take_fault(self.command, self.path, headers, len(body))
            if fault is not None and fault.stall:
                proxy.seen.append((self.command, self.path, 0))
                self.connection.settimeout(STALL_LIMIT)
                with contextlib.suppress(OSError):
                    self.connection.recv(1)  # b"" once the client gives up and closes
                self.close_connection = True
                return
            if fault is not None:
                payload = b'{"errors":[{"code":"UNKNOWN","message":"injected"}]}'
                self.send_response(fault.status)
                for key, value in fault.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload if self.command != "HEAD" else b"")
                proxy.seen.append((self.command, self.path, fault.status))
                return
            conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
            forward = {
                k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "content-length")
            }
            forward["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=forward)
            response = conn.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()
            proxy.seen.append((self.command, self.path, response.status))

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler


@contextmanager
def faulty_proxy(upstream: str, faults: list[Fault]) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(upstream, faults)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    with serving(server) as proxy.host:
        yield proxy
