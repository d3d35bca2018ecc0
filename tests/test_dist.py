"""`make dist` artefacts install and run with networking disabled: an air-gapped bastion in miniature.

The session builds both artefacts once with .ci/dist.py, the entry `make dist` uses (building needs the
package index). Each offline test then runs in a fresh network namespace (`unshare -n`) that has nothing
but loopback: a docker-registry started inside it, the tool installed from the wheelhouse (or run from the
zipapp) by a Python whose site-packages is empty, `--version`, `inspect` and `push-images`, and a read-back
of every manifest the registry then holds. No namespace, no pass: these tests fail, never skip.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.bundles import OfflinePackage, make_sample_package
from tests.infra import clean_env, require_binary
from tests.infra.registry import _base_config

REPO = Path(__file__).resolve().parent.parent
VERSION: str = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
# A new namespace has every port free, so a fixed one is safe.
REGISTRY = "127.0.0.1:5000"
OFFLINE_TIMEOUT = 180.0

# Run inside the namespace by the bare Python (stdlib only): wait for the registry, then list what it holds.
PROBE = """\
import hashlib, json, sys, time, urllib.request

base = "http://" + sys.argv[2]
accept = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])


def get(path):
    request = urllib.request.Request(base + path, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read()


if sys.argv[1] == "wait":
    deadline = time.monotonic() + 10
    while True:
        try:
            get("/v2/")
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
else:
    for repo in json.loads(get("/v2/_catalog"))["repositories"]:
        for tag in json.loads(get(f"/v2/{repo}/tags/list"))["tags"]:
            body = get(f"/v2/{repo}/manifests/{tag}")
            print(json.dumps({"ref": f"{repo}:{tag}", "digest": "sha256:" + hashlib.sha256(body).hexdigest()}))
"""


@dataclass(frozen=True)
class Dist:
    wheelhouse: Path
    pyz: Path


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """Both artefacts, built once per session exactly as `make dist` builds them (into a temp dir)."""
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "dist.py"), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if build.returncode != 0:
        pytest.fail(f".ci/dist.py failed ({build.returncode}):\n{build.stderr[-4000:]}")
    built = Dist(out / f"skoala-airgap-{VERSION}-wheelhouse.tar.gz", out / "skoala-airgap.pyz")
    assert built.wheelhouse.is_file(), build.stdout
    assert built.pyz.is_file(), build.stdout
    return built


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> OfflinePackage:
    """A kilobyte-sized vendor offline package (two charts, eight images) from the fixture factory."""
    return make_sample_package(tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a venv with empty site-packages: its `python3` cannot borrow the dev venv's packages."""
    venv = tmp_path_factory.mktemp("bare-python")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin"


def _offline_env(workdir: Path, bare_bin: Path) -> dict[str, str]:
    """The caller's environment minus pip/Python settings, proxies and the dev venv, with the bare python3."""
    dev_bin = str(Path(sys.prefix) / "bin")
    env = {k: v for k, v in clean_env().items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    path = [p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p and p != dev_bin]
    home = workdir / "home"
    home.mkdir()
    # PIP_CONFIG_FILE=/dev/null: no pip configuration file at all, so no local index or find-links sneaks in.
    env.update(PATH=os.pathsep.join([str(bare_bin), *path]), HOME=str(home), PIP_CONFIG_FILE=os.devnull)
    return env


@dataclass(frozen=True)
class OfflineRun:
    links: str
    version: str
    inspect: str
    manifests: dict[str, str]  # "repo:tag" -> sha256 of the manifest bytes the registry serves


def run_offline(workdir: Path, bare_bin: Path, setup: str, tool: str, package: OfflinePackage) -> OfflineRun:
    """In a new network namespace: lo up, a registry on REGISTRY, `setup`, then the tool (`tool` is the
    body of a sh function) runs --version, inspect and push-images; finally every manifest is read back."""
    unshare = require_binary("unshare", "util-linux")
    require_binary("ip", "iproute2")
    registry_bin = require_binary("docker-registry", "docker-registry")
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"`unshare -n` is not permitted here (run the tests as root): {probe.stderr.strip()}")

    reg = workdir / "registry"
    (reg / "data").mkdir(parents=True)
    config = _base_config(port=int(REGISTRY.rsplit(":", 1)[1]), data_dir=reg / "data", htpasswd_file=None, tls=None)
    (reg / "config.json").write_text(json.dumps(config, indent=2))  # JSON is YAML
    (workdir / "probe.py").write_text(PROBE)
    q = shlex.quote
    pkg = q(str(package.path))
    script = f"""
set -eu
ip link set lo up
ip -o link show > links.txt
{q(registry_bin)} serve {q(str(reg / "config.json"))} > {q(str(reg / "registry.log"))} 2>&1 &
registry=$!
trap 'kill $registry' EXIT
python3 probe.py wait {REGISTRY}
{setup}
sk() {{ {tool} "$@"; }}
sk --version > version.txt
sk inspect {pkg} > inspect.txt
sk push-images {pkg} --registry {REGISTRY} --plain-http
python3 probe.py manifests {REGISTRY} > manifests.jsonl
"""
    # Own session: on a timeout the whole group (sh, the registry, the tool) is killed, nothing outlives it.
    proc = subprocess.Popen(
        [unshare, "-n", "sh", "-c", script],
        cwd=workdir,
        env=_offline_env(workdir, bare_bin),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=OFFLINE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        log = (reg / "registry.log").read_text(errors="replace")[-2000:] if (reg / "registry.log").exists() else ""
        pytest.fail(
            f"offline run failed ({proc.returncode}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- registry\n{log}"
        )
    manifests = {}
    for line in (workdir / "manifests.jsonl").read_text().splitlines():
        entry = json.loads(line)
        manifests[entry["ref"]] = entry["digest"]
    return OfflineRun(
        links=(workdir / "links.txt").read_text(),
        version=(workdir / "version.txt").read_text(),
        inspect=(workdir / "inspect.txt").read_text(),
        manifests=manifests,
    )


def assert_works_offline(run: OfflineRun, package: OfflinePackage) -> None:
    interfaces = [line.split(":")[1].strip() for line in run.links.splitlines()]
    assert interfaces == ["lo"], f"the namespace was not offline: {run.links}"
    assert VERSION in run.version
    for ref in package.image_refs:
        assert ref in run.inspect
    # `--registry` swaps the origin registry for the site's: docker.m.daocloud.io/skoala/hive:v0.28.1 lands
    # as skoala/hive:v0.28.1, byte for byte the manifest the package carries.
    expected = {ref.split("/", 1)[1]: digest for ref, digest in package.expected_digests.items()}
    assert run.manifests == expected


def test_wheelhouse_installs_and_pushes_offline(
    tmp_path: Path, dist: Dist, bare_python: Path, package: OfflinePackage
) -> None:
    top = dist.wheelhouse.name.removesuffix(".tar.gz")
    with tarfile.open(dist.wheelhouse) as tar:
        names = tar.getnames()
    assert f"{top}/install.sh" in names
    assert any(n.startswith(f"{top}/wheels/skoala_airgap-{VERSION}-") for n in names)
    # As on the bastion: unpack next to the vendor package, install.sh into a new venv, run the installed tool.
    setup = f'tar xzf {shlex.quote(str(dist.wheelhouse))}\n./{top}/install.sh "$PWD/venv"'
    run = run_offline(tmp_path, bare_python, setup, '"$PWD/venv/bin/skoala-airgap"', package)
    assert_works_offline(run, package)


def test_zipapp_runs_and_pushes_offline(tmp_path: Path, dist: Dist, bare_python: Path, package: OfflinePackage) -> None:
    run = run_offline(tmp_path, bare_python, ":", f"python3 {shlex.quote(str(dist.pyz))}", package)
    assert_works_offline(run, package)


def test_zipapp_is_pure_python_and_finds_its_ca_bundle(tmp_path: Path, dist: Dist, bare_python: Path) -> None:
    """No extension modules (zipimport cannot load them); certifi's cacert.pem is usable from inside the zip."""
    with zipfile.ZipFile(dist.pyz) as zf:
        compiled = [n for n in zf.namelist() if n.endswith((".so", ".pyd")) or ".so." in n]
    assert compiled == []
    check = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import os, ssl, certifi, requests.utils, yaml\n"
        "where = certifi.where()\n"
        "assert os.path.isfile(where), where\n"
        "assert requests.utils.DEFAULT_CA_BUNDLE_PATH == where\n"
        "cas = ssl.create_default_context(cafile=where).cert_store_stats()['x509_ca']\n"
        "assert cas > 50, cas\n"
        "assert certifi.__file__.startswith(sys.argv[1]) and not yaml.__with_libyaml__\n"
        "print(where)\n"
    )
    env = _offline_env(tmp_path, bare_python)
    result = subprocess.run(
        [str(bare_python / "python3"), "-c", check, str(dist.pyz)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # certifi extracted the bundle to a temporary file and removed it when the interpreter exited.
    assert not Path(result.stdout.strip()).exists()


def test_install_sh_refuses_an_old_python(tmp_path: Path, dist: Dist) -> None:
    fake = tmp_path / "python3.9"
    fake.write_text('#!/bin/sh\n[ "$1" = -V ] && echo "Python 3.9.2" && exit 0\nexit 1\n')
    fake.chmod(0o755)
    with tarfile.open(dist.wheelhouse) as tar:
        tar.extractall(tmp_path, filter="data")
    (install_sh,) = tmp_path.glob("*/install.sh")
    result = subprocess.run(
        [str(install_sh), str(tmp_path / "venv")],
        env={**clean_env(), "PYTHON": str(fake)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"install.sh: skoala-airgap needs Python >= 3.11; '{fake}' is Python 3.9.2"
    ]
    assert not (tmp_path / "venv").exists()
