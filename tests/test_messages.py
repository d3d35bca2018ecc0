"""``--insecure`` is said once per host on stderr, never as urllib3's InsecureRequestWarning per request,
with or without ``-q`` (issue 10, defect 6; that ``--debug`` keeps exit codes is in test_bad_input.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from fixtures.bundles import OfflinePackage, write_offline_package
from fixtures.images import write_images_tar
from tests.conftest import TEST_PASSWORD, TEST_USER
from tests.helpers import CliResult, run_cli, sample_images
from tests.infra.registry import RegistryProcess


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> OfflinePackage:
    return write_offline_package(tmp_path_factory.mktemp("messages-pkg"), layer_size=2048)


def _credentials() -> dict[str, str]:
    return dict(os.environ, TARGET_CONTAINERS_AUTH_USERNAME=TEST_USER, TARGET_CONTAINERS_AUTH_PASSWORD=TEST_PASSWORD)


def _insecure_lines(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if "(--insecure)" in line]


def _assert_quiet_tls(result: CliResult, host: str, *, quiet: bool) -> None:
    assert result.code == 0, result.stderr
    assert "InsecureRequestWarning" not in result.stderr and "Unverified HTTPS" not in result.stderr, result.stderr
    lines = _insecure_lines(result)
    assert len(lines) <= 1, result.stderr
    if not quiet:
        assert len(lines) == 1 and host in lines[0] and "verification" in lines[0], result.stderr


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
def test_insecure_push_says_it_once(tmp_path: Path, registry_tls: RegistryProcess, quiet: bool) -> None:
    """Seven images, dozens of requests, one line."""
    images = sample_images(tmp_path / "layers", count=6)
    source = write_images_tar(tmp_path / "images.tar", images, "ggcr")
    args = ["push-images", str(source), "--registry", registry_tls.host, "--insecure"]
    args += ["--prefix-repository", f"insecure/push-{'q' if quiet else 'v'}", *(["-q"] if quiet else [])]
    result = run_cli(*args, env=_credentials())
    _assert_quiet_tls(result, registry_tls.host, quiet=quiet)


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
def test_insecure_sync_says_it_once(
    tmp_path: Path, package: OfflinePackage, registry_tls: RegistryProcess, quiet: bool
) -> None:
    config = tmp_path / "load-image.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {"intermediateBundlesPath": str(package.path)},
                "target": {
                    "containerRegistry": registry_tls.host,
                    "containerPrefixRepository": f"insecure/sync-{'q' if quiet else 'v'}",
                    "repo": {"kind": "LOCAL", "path": str(tmp_path / "charts")},
                },
            }
        )
    )
    result = run_cli(
        "sync", "--config", str(config), "--insecure", "true", *(["-q"] if quiet else []), env=_credentials()
    )
    _assert_quiet_tls(result, registry_tls.host, quiet=quiet)
    assert sorted(p.name for p in (tmp_path / "charts").glob("*.tgz")) == [
        "skoala-0.28.1.tgz",
        "skoala-init-0.28.1.tgz",
    ]
