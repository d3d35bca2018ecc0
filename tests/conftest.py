"""Shared fixtures: real registries, podman's Docker API and containerd (logic lives in tests/infra)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra import PROXY_ENV_VARS
from tests.infra.containerd import ContainerdProcess, start_containerd
from tests.infra.podman import PodmanService, start_podman_service
from tests.infra.registry import RegistryProcess, make_tls, start_registry

TEST_USER = "testuser"
TEST_PASSWORD = "testpass"

_REGISTRY_FIXTURES = {"registry", "registry_auth", "registry_tls", "fresh_registry"}
_RUNTIME_FIXTURES = {"podman_service", "containerd"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tag tests by the servers they use, so ``-m "not runtime"`` etc. select without bookkeeping."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & _REGISTRY_FIXTURES:
            item.add_marker(pytest.mark.registry)
        if names & _RUNTIME_FIXTURES:
            item.add_marker(pytest.mark.runtime)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No proxies for 127.0.0.1 traffic, never the real ~/.docker or state directory, and a scratch
    working directory (receipts default to the current directory)."""
    for name in PROXY_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path_factory.mktemp("docker-config")))
    monkeypatch.setenv("SKOALA_AIRGAP_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """Plain-HTTP registry shared by the session (use unique repo names per test)."""
    with start_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="session")
def registry_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """Plain-HTTP registry with htpasswd basic auth (testuser / testpass)."""
    with start_registry(tmp_path_factory.mktemp("registry-auth"), htpasswd=(TEST_USER, TEST_PASSWORD)) as reg:
        yield reg


@pytest.fixture(scope="session")
def registry_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """HTTPS registry (private trustme CA in ``.tls.ca_pem``) with htpasswd basic auth."""
    workdir = tmp_path_factory.mktemp("registry-tls")
    tls = make_tls(workdir / "certs")
    with start_registry(workdir, htpasswd=(TEST_USER, TEST_PASSWORD), tls=tls) as reg:
        yield reg


@pytest.fixture
def fresh_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """A new empty plain registry per test: exact request counts and no blobs from other tests."""
    with start_registry(tmp_path_factory.mktemp("fresh-registry")) as reg:
        yield reg


@pytest.fixture(scope="session")
def podman_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodmanService]:
    """podman's Docker-API service (started only when a test asks for it)."""
    with start_podman_service(tmp_path_factory.mktemp("podman")) as svc:
        yield svc


@pytest.fixture(scope="session")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerdProcess]:
    """A private containerd without CRI (started only when a test asks for it)."""
    with start_containerd(tmp_path_factory.mktemp("containerd")) as proc:
        yield proc
