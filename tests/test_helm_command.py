"""`skoala-airgap helm-command`: the vendor's two upgrade forms for skoala and skoala-init, one version.

The original-chart form is run end to end: the printed script is executed by sh with a `helm` that
answers `get values` with a backup and turns `upgrade` into a real `helm template`."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.bundles import write_offline_package
from skoala_airgap.sources.open import open_source
from skoala_airgap.workflows.helm import release_charts, upgrade_script
from tests.helm import helm_binary, helm_env
from tests.helpers import run_cli

SITE = "10.6.10.10"
_IMAGE_LINE = re.compile(r"^\s*(?:-\s+)?image:\s*[\"']?([^\"'\s]+)", re.MULTILINE)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(write_offline_package(tmp_path_factory.mktemp("pkg"), layer_size=2048).path)


def _upgrades(script: str) -> list[str]:
    return [block for block in script.replace("\\\n", "").split("\n") if block.startswith("helm upgrade")]


def test_both_forms_by_default(package: Path) -> None:
    result = run_cli("helm-command", str(package), "--registry", SITE)
    assert result.code == 0, result.stderr
    script = result.stdout
    assert "helm get values skoala -n skoala-system -o yaml > skoala-bak.yaml" in script
    assert "helm get values skoala-init -n skoala-system -o yaml > skoala-init-bak.yaml" in script
    upgrades = _upgrades(script)
    assert len(upgrades) == 4
    for line in upgrades:
        assert "--version 0.28.1" in line and "-n skoala-system" in line
        release = line.split()[2]
        assert line.endswith(f"-f {release}-bak.yaml -f {release}-override.yaml")
    assert "helm upgrade skoala skoala-release/skoala " in upgrades[0]
    assert "helm upgrade skoala-init skoala-release/skoala-init " in upgrades[1]
    assert "skoala_v0.28.1_amd64/skoala/original-chart" in upgrades[2]
    assert f"skoala-airgap values --registry {SITE} --package {package} --chart skoala -f skoala-bak.yaml" in script
    assert f"# rules: containerRegistry={SITE} (from options)" in script


def test_one_form(package: Path, tmp_path: Path) -> None:
    repo = run_cli("helm-command", str(package), "--registry", SITE, "--repo", "my-repo", "-n", "ns1")
    assert repo.code == 0, repo.stderr
    assert [line.split()[3] for line in _upgrades(repo.stdout)] == ["my-repo/skoala", "my-repo/skoala-init"]
    assert "original-chart" not in repo.stdout and "-n ns1" in repo.stdout
    local = run_cli("helm-command", str(package), "--registry", SITE, "--chart-dir", str(tmp_path / "c d"))
    assert local.code == 0, local.stderr
    assert "skoala-release" not in local.stdout and f"'{tmp_path}/c d/skoala/original-chart'" in local.stdout
    both = run_cli("helm-command", str(package), "--registry", SITE, "--repo", "r", "--chart-dir", str(tmp_path))
    assert both.code == 2 and "only one" in both.stderr


def test_config_passed_on(package: Path) -> None:
    script = upgrade_script(open_source(package), registry=SITE, repo="r", rules_args=["--config", "load-image.yaml"])
    assert script.count("skoala-airgap values --config load-image.yaml ") == 2


def test_refuses_different_versions(tmp_path: Path) -> None:
    mixed = Path(write_offline_package(tmp_path, layer_size=1024, init_version="0.28.2").path)
    result = run_cli("helm-command", str(mixed), "--registry", SITE)
    assert result.code == 2
    assert "versions differ" in result.stderr and "0.28.2" in result.stderr
    assert result.stdout == ""


def test_bad_registry_refused(package: Path) -> None:
    result = run_cli("helm-command", str(package), "--registry", "https://h.example.com")
    assert result.code == 2 and "scheme" in result.stderr


def test_release_charts_order(package: Path) -> None:
    charts = release_charts(open_source(package))
    assert [(c.name, c.version, c.bundle) for c in charts] == [
        ("skoala", "0.28.1", "skoala_0.28.1.bundle.tar"),
        ("skoala-init", "0.28.1", "skoala-init_0.28.1.bundle.tar"),
    ]


def _fake_tools(bin_dir: Path) -> None:
    """`helm` that backs up a fixed value set and renders instead of upgrading; `skoala-airgap` = this venv's."""
    bin_dir.mkdir()
    helm = bin_dir / "helm"
    helm.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "get values" ]; then printf "# backup of %s\\nglobal:\\n  imageRegistry: 10.0.0.1\\n'
        'hive:\\n  replicas: 2\\n" "$3"; exit 0; fi\n'
        f'if [ "$1" = "upgrade" ]; then shift; exec {helm_binary()} template --kube-version 1.29.0 "$@"; fi\n'
        f'exec {helm_binary()} "$@"\n'
    )
    tool = bin_dir / "skoala-airgap"
    tool.write_text(f'#!/bin/sh\nexec {sys.executable} -m skoala_airgap "$@"\n')
    for path in (helm, tool):
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_original_chart_form_runs_end_to_end(package: Path, tmp_path: Path) -> None:
    script = run_cli("helm-command", str(package), "--registry", SITE, "--chart-dir", "charts").stdout
    _fake_tools(tmp_path / "bin")
    env = helm_env(tmp_path / "helm-home")
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    proc = subprocess.run(
        ["sh", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    images = _IMAGE_LINE.findall(proc.stdout)
    assert len(images) == 8  # 4 deployments per chart, subcharts included
    assert all(image.startswith(SITE + "/") for image in images), images
    backup = (tmp_path / "skoala-bak.yaml").read_text()
    override = (tmp_path / "skoala-override.yaml").read_text()
    assert override.startswith(backup.split("imageRegistry")[0]) and "  replicas: 2\n" in override
