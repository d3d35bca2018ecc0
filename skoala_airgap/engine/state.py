"""What the engine remembers between runs, in the user's state directory: open upload sessions and
which repositories of a registry hold which blobs.

Both are small JSON files written atomically (temp file + rename in the same folder), so a kill at any
point leaves the previous or the next consistent version. Both are hints: a stale session is checked
with the registry before it is used, a stale blob location only costs a declined mount. Nothing secret
is stored (no credentials; upload locations carry the registry's signed session state only).

The directory is ``--state-dir``, else ``$SKOALA_AIRGAP_STATE_DIR``, else ``$XDG_STATE_HOME/skoala-airgap``,
else ``~/.local/state/skoala-airgap``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skoala_airgap.model.digest import Digest

STATE_DIR_ENV = "SKOALA_AIRGAP_STATE_DIR"
_MAX_DIGESTS_PER_HOST = 20000  # bounded: the oldest entries go first


def state_dir(explicit: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if env.get(STATE_DIR_ENV):
        return Path(env[STATE_DIR_ENV])
    base = Path(env["XDG_STATE_HOME"]) if env.get("XDG_STATE_HOME") else Path.home() / ".local" / "state"
    return base / "skoala-airgap"


class _JsonFile:
    """A JSON object on disk, loaded once, saved atomically; unreadable content counts as empty."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.data: dict[str, Any] = {}
        if path is not None:
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(path.read_text())
                if isinstance(loaded, dict):
                    self.data = loaded

    def save(self) -> None:
        """Write the current data; a state directory we cannot write only costs the memory."""
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            with os.fdopen(fd, "w") as out:
                json.dump(self.data, out, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:
            self.path = None


class UploadJournal(_JsonFile):
    """Open chunked uploads: ``host -> repository@digest -> [location, acknowledged offset]``."""

    def __init__(self, directory: Path | None) -> None:
        super().__init__(directory / "uploads.json" if directory else None)

    def find(self, host: str, repository: str, digest: Digest) -> tuple[str, int] | None:
        with self.lock:
            entry = self.data.get(host, {}).get(f"{repository}@{digest}")
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], int):
            return entry[0], entry[1]
        return None

    def record(self, host: str, repository: str, digest: Digest, location: str, offset: int) -> None:
        with self.lock:
            self.data.setdefault(host, {})[f"{repository}@{digest}"] = [location, offset]
            self.save()

    def forget(self, host: str, repository: str, digest: Digest) -> None:
        with self.lock:
            if self.data.get(host, {}).pop(f"{repository}@{digest}", None) is not None:
                self.save()

    def open_sessions(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.data.values() if isinstance(v, dict))


class BlobLocations(_JsonFile):
    """Which repositories of a registry are known to hold a digest (containers/image's blob-info cache).

    A later run into a new repository mounts from one of them instead of uploading; a failed mount falls
    back to an upload, so a stale entry is harmless.
    """

    def __init__(self, directory: Path | None) -> None:
        super().__init__(directory / "blob-locations.json" if directory else None)
        self._dirty = False

    def holders(self, host: str, digest: Digest) -> list[str]:
        with self.lock:
            found = self.data.get(host, {}).get(str(digest))
        return [str(r) for r in found] if isinstance(found, list) else []

    def add(self, host: str, digest: Digest, repository: str) -> None:
        with self.lock:
            known = self.data.setdefault(host, {})
            repos = known.pop(str(digest), [])  # re-insert: dict order is recency
            if repository in repos:
                repos.remove(repository)
            known[str(digest)] = [repository, *repos][:8]
            while len(known) > _MAX_DIGESTS_PER_HOST:
                known.pop(next(iter(known)))
            self._dirty = True

    def drop(self, host: str, digest: Digest, repository: str) -> None:
        with self.lock:
            repos = self.data.get(host, {}).get(str(digest))
            if isinstance(repos, list) and repository in repos:
                repos.remove(repository)
                self._dirty = True

    def flush(self) -> None:
        with self.lock:
            if self._dirty:
                self.save()
                self._dirty = False
