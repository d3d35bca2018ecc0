"""Cooperative cancellation: the CLI sets it on SIGINT/SIGTERM, every wait and worker checks it.

Worker threads cannot be interrupted by a signal, so they look at :data:`STOP` between requests and
while backing off; a backoff sleep is an :meth:`threading.Event.wait`, so a stop ends it at once.
"""

from __future__ import annotations

import threading

from skoala_airgap.errors import Interrupted

STOP = threading.Event()


def check() -> None:
    """Raise :class:`Interrupted` when a stop was requested."""
    if STOP.is_set():
        raise Interrupted("stopped")


def sleep(seconds: float) -> None:
    """Sleep, but wake and raise :class:`Interrupted` as soon as a stop is requested."""
    if STOP.wait(max(seconds, 0.0)):
        raise Interrupted("stopped")
