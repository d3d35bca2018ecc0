"""A throttling reverse proxy in front of the real registry, for resume tests and bench/resume.py.

Request bodies pass at a set rate (so a kill lands mid-upload at a known point), every body byte the
client sends is counted, and a share of upload requests can be reset at a random point of their body.
Two modes, the two ways a path to a registry treats a request that is cut off mid-body:

- ``"buffer"``: store-and-forward, as nginx does by default (``proxy_request_buffering on``): a request
  goes upstream only once its whole body has arrived, and not at all when the client has gone by then
  (nginx's check for a closed client connection), so a killed client's request never reaches the
  registry;
- ``"stream"``: cut-through, as a plain connection or a proxy with request buffering off: bytes go
  upstream as they arrive, so the registry sees the cut (distribution 2.8 then drops the session).

Responses are relayed whole. The Host header is forwarded, so the registry's Location headers point
back at the proxy.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.infra import serving

PIECE = 64 * 1024
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}


@dataclass
class Seen:
    method: str
    path: str
    status: int  # 0: no answer (reset or cut off)
    declared: int  # Content-Length
    received: int  # body bytes that arrived from the client


@dataclass
class ThrottleProxy:
    upstream: str  # host:port of the real registry
    mode: str = "buffer"  # "buffer" (store-and-forward) or "stream" (cut-through)
    rate: float | None = None  # body bytes per second for all connections together; None: no limit
    reset_rate: float = 0.0  # share of PUT/PATCH requests with a body that are reset mid-body
    seed: int = 0
    host: str = ""
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: float = 0.0
    _rng: random.Random = field(default_factory=random.Random)
    _received: int = 0

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    @property
    def received(self) -> int:
        """Request body bytes received from clients so far, counted as they arrive."""
        with self._lock:
            return self._received

    def body_bytes(self, methods: tuple[str, ...] = ("PUT", "PATCH", "POST")) -> int:
        with self._lock:
            return sum(s.received for s in self.seen if s.method in methods)

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.002)
        return condition()

    def _take(self, count: int) -> None:
        with self._lock:
            self._received += count
            rate = self.rate
            if not rate:
                return
            now = time.monotonic()
            self._next = max(self._next, now) + count / rate
            until = self._next
        time.sleep(max(0.0, until - now))

    def _cut_at(self, method: str, length: int) -> int | None:
        if length <= 0 or method not in ("PUT", "PATCH") or not self.reset_rate:
            return None
        with self._lock:
            if self._rng.random() >= self.reset_rate:
                return None
            return self._rng.randrange(length)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0), as a dropped connection looks to the peer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


def _handler(proxy: ThrottleProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _pieces(self, length: int, cut: int | None) -> Iterator[bytes]:
            """The body as it arrives, throttled; stops early at ``cut`` or when the client goes away."""
            left = length if cut is None else cut
            while left > 0:
                piece = self.rfile.read1(min(PIECE, left)) if hasattr(self.rfile, "read1") else b""
                if not piece:
                    return
                proxy._take(len(piece))
                left -= len(piece)
                yield piece

        def _forward_headers(self, length: int) -> dict[str, str]:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            headers["Content-Length"] = str(length)
            return headers

        def _handle(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                self.send_error(411, "chunked request bodies are not supported by this proxy")
                self.close_connection = True
                return
            length = int(self.headers.get("Content-Length") or 0)
            cut = proxy._cut_at(self.command, length)
            seen = Seen(self.command, self.path, 0, length, 0)
            upstream = http.client.HTTPConnection(proxy.upstream, timeout=120)
            try:
                if proxy.mode == "stream":
                    upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for key, value in self._forward_headers(length).items():
                        upstream.putheader(key, value)
                    upstream.endheaders()
                    for piece in self._pieces(length, cut):
                        seen.received += len(piece)
                        upstream.send(piece)
                    if seen.received < length:  # reset here, or the client went away: the registry sees a cut
                        if upstream.sock is not None:
                            _reset(upstream.sock)
                        self._drop(seen)
                        return
                else:
                    body = bytearray()
                    for piece in self._pieces(length, cut):
                        body += piece
                    seen.received = len(body)
                    if seen.received < length or self._client_gone():  # never forwarded: the registry
                        self._drop(seen)  # does not see it
                        return
                    upstream.request(self.command, self.path, body=bytes(body), headers=self._forward_headers(length))
                response = upstream.getresponse()
                data = response.read()
            except OSError:
                self._drop(seen)
                return
            finally:
                upstream.close()
            seen.status = response.status
            proxy._record(seen)
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in _HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _client_gone(self) -> bool:
            """The client closed its side (a killed process): like nginx, do not forward its request."""
            try:
                return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                return False
            except OSError:
                return True

        def _drop(self, seen: Seen) -> None:
            proxy._record(seen)
            self.close_connection = True
            _reset(self.connection)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return  # resets are the point here; no tracebacks on stderr


@contextmanager
def throttle_proxy(
    upstream: str,
    *,
    mode: str = "buffer",
    rate: float | None = None,
    reset_rate: float = 0.0,
    seed: int = 0,
) -> Iterator[ThrottleProxy]:
    if mode not in ("buffer", "stream"):
        raise ValueError(f"mode {mode!r}: buffer or stream")
    proxy = ThrottleProxy(upstream, mode, rate, reset_rate, seed)
    server = _Server(("127.0.0.1", 0), _handler(proxy))
    with serving(server) as proxy.host:
        yield proxy


# -- accounting for kill-and-resume measurements -------------------------------------------------------


def upload_body_bytes(seen: list[Seen]) -> int:
    """Blob bytes the client sent (PUT and PATCH bodies on upload sessions), however far they got."""
    return sum(s.received for s in seen if s.method in ("PUT", "PATCH") and "/blobs/uploads/" in s.path)


def finished_digests(seen: list[Seen]) -> set[str]:
    """Digests whose upload the registry committed (``PUT ...?digest=`` answered 201)."""
    done = set()
    for s in seen:
        if s.method == "PUT" and s.status == 201 and "/blobs/uploads/" in s.path and "digest=" in s.path:
            done.add(s.path.split("digest=", 1)[1].split("&", 1)[0].replace("%3A", ":"))
    return done


@dataclass(frozen=True)
class KillResume:
    """Bytes of a run killed mid-upload and of its rerun, and the share of in-flight bytes sent twice.

    ``in_flight``: bytes the killed run sent for blobs it did not finish. The rerun has to send what was
    never sent (``unique - first``); anything beyond that was sent twice (``resent``).
    """

    unique: int  # bytes of every blob the push needs
    first: int  # upload body bytes of the killed run
    finished: int  # bytes of the blobs the killed run finished
    rerun: int  # upload body bytes of the rerun

    @property
    def in_flight(self) -> int:
        return self.first - self.finished

    @property
    def resent(self) -> int:
        return self.rerun - (self.unique - self.first)

    @property
    def fraction(self) -> float:
        return self.resent / self.in_flight if self.in_flight else 0.0


def settle(proxy: ThrottleProxy, quiet: float = 0.3, timeout: float = 30.0) -> None:
    """Wait until no body byte has arrived for ``quiet`` seconds (what a dead client left in flight)."""
    deadline = time.monotonic() + timeout
    last, since = proxy.received, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = proxy.received
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
