"""``make dist``: build the two forms of skoala-airgap that install and run with no network.

- ``skoala-airgap-VERSION-wheelhouse.tar.gz``: the project wheel, every runtime dependency as a wheel (for
  CPython 3.11-3.14 on this build's CPU), and ``install.sh``, which makes a venv and installs with
  ``pip --no-index``.
- ``skoala-airgap.pyz``: one zipapp, run as ``python3 skoala-airgap.pyz``. Compiled extensions cannot be
  imported from a zip, so it holds pure Python only: a dependency's pure wheel where one exists, else its
  code without the optional C speedups (PyYAML); any other compiled-only dependency stops the build.

Building needs a package index (``pip download``, with the usual pip cache); installing and running do not.
The runtime dependencies come from pyproject.toml ``[project].dependencies``: there is no second list here.
Usage: ``python .ci/dist.py [--out DIR]`` (prints the two artefact paths).
"""

from __future__ import annotations

import argparse
import io
import py_compile
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipapp
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSTALL_SH = Path(__file__).resolve().parent / "wheelhouse-install.sh"
ZIPAPP_NAME = "skoala-airgap.pyz"

# CPython versions the wheelhouse carries compiled wheels for (one resolution each, about a second apiece).
# The first is also the one the zipapp's dependency set is resolved for: the lowest requires-python.
WHEELHOUSE_PYTHONS = ("3.11", "3.12", "3.13", "3.14")

# Dependencies with no pure wheel whose compiled part is an optional speedup: the zipapp keeps their Python
# code and drops the extension modules. Normalised project name -> why that is safe.
OPTIONAL_EXTENSIONS = {
    "pyyaml": "yaml/__init__.py falls back to the pure-Python loader when yaml._yaml cannot be imported",
}
EXTENSION_SUFFIXES = (".so", ".pyd")

# The zipapp's __main__ (entry point skoala_airgap.cli.main:main, as in pyproject's [project.scripts]), with a
# one-line error on an old Python instead of a SyntaxError from some dependency.
ZIPAPP_MAIN = f'''\
"""skoala-airgap as one file: ``python3 {ZIPAPP_NAME} ARGS`` (pure Python, nothing to install)."""

import sys

if sys.version_info < (3, 11):
    sys.exit("skoala-airgap needs Python >= 3.11; this is " + sys.version.split()[0])

from skoala_airgap.cli.main import main

sys.exit(main())
'''


@dataclass(frozen=True)
class Wheel:
    """A wheel file and the parts of its name we need (``name-version[-build]-py-abi-platform.whl``)."""

    path: Path

    @property
    def project(self) -> str:
        """Normalised project name (PEP 503), e.g. ``ruamel-yaml``."""
        return self.path.name.split("-")[0].lower().replace("_", "-").replace(".", "-")

    @property
    def version(self) -> str:
        return self.path.name.split("-")[1]

    @property
    def pure(self) -> bool:
        return self.path.name.endswith("-none-any.whl")


def pip(*args: str) -> None:
    """Run this interpreter's pip quietly; its errors still reach stderr."""
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def read_project() -> tuple[str, str, list[str]]:
    """(name, version, runtime dependencies) from pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return project["name"], project["version"], list(project.get("dependencies", []))


def build_project_wheel(dest: Path, scratch: Path) -> Wheel:
    """Build our wheel from a copy of the sources: setuptools' build/ in the work tree can hold stale modules."""
    src = scratch / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "skoala_airgap", src / "skoala_airgap", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    pip("wheel", "-q", "--no-deps", "--wheel-dir", str(dest), str(src))
    (wheel,) = dest.glob("*.whl")
    return Wheel(wheel)


def download_dependencies(dependencies: list[str], dest: Path, python: str) -> list[Wheel]:
    """Wheels of the runtime dependencies, resolved for one CPython version on this platform."""
    if not dependencies:
        return []
    dest.mkdir(parents=True, exist_ok=True)
    pip("download", "-q", "--only-binary=:all:", "--python-version", python, "--dest", str(dest), *dependencies)
    return [Wheel(p) for p in sorted(dest.glob("*.whl"))]


def pure_form(wheel: Wheel, dest: Path, python: str) -> tuple[Wheel, bool]:
    """(a wheel the zipapp can carry, whether its extension modules must be dropped)."""
    if wheel.pure:
        return wheel, False
    dest.mkdir(parents=True, exist_ok=True)
    spec = f"{wheel.project}=={wheel.version}"
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--dest", str(dest), spec]
    cmd += ["--only-binary=:all:", "--platform", "any", "--implementation", "py", "--abi", "none"]
    cmd += ["--python-version", python]
    # Quiet: "no matching distribution" is an expected answer here, handled below.
    found = subprocess.run(cmd, capture_output=True, text=True)
    if found.returncode == 0:
        (pure,) = (w for w in map(Wheel, dest.glob("*.whl")) if w.project == wheel.project)
        return pure, False
    if wheel.project in OPTIONAL_EXTENSIONS:
        return wheel, True
    pip_said = (found.stderr.strip().splitlines() or ["?"])[-1]
    raise SystemExit(
        f"dist: no pure-Python wheel of {spec} ({pip_said}) and its extension is not known to be optional; "
        "the zipapp cannot carry it (add it to OPTIONAL_EXTENSIONS only if it works without its C code)"
    )


def unpack_wheel(wheel: Wheel, dest: Path, *, drop_extensions: bool) -> None:
    """Lay a wheel out as site-packages would (code + .dist-info for importlib.metadata), minus scripts."""
    with zipfile.ZipFile(wheel.path) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or "/__pycache__/" in f"/{name}":
                continue
            first, _, rest = name.partition("/")
            if first.endswith(".data"):
                # NAME.data/purelib|platlib/... belongs in site-packages; scripts, headers and data do not.
                kind, _, name = rest.partition("/")
                if kind not in ("purelib", "platlib"):
                    continue
            if name.endswith(EXTENSION_SUFFIXES) or ".so." in name:
                if drop_extensions:
                    continue
                raise SystemExit(f"dist: {wheel.path.name} is tagged pure but holds an extension: {name}")
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))


def compile_legacy_pyc(tree: Path) -> None:
    """``mod.pyc`` beside each ``mod.py``: zipimport reads those (never __pycache__), which saves compiling
    every module on each run. The hash is unchecked because zip timestamps are coarse; another Python
    version just ignores them (wrong magic) and compiles from the source kept next to them."""
    for source in tree.rglob("*.py"):
        py_compile.compile(
            str(source),
            cfile=str(source.with_suffix(".pyc")),
            dfile=source.relative_to(tree).as_posix(),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )


def build_zipapp(wheels: list[Wheel], target: Path, scratch: Path, python: str) -> None:
    """The single-file zipapp from our wheel and the pure forms of the dependencies."""
    tree = scratch / "zipapp"
    tree.mkdir()
    for wheel in wheels:
        carried, drop = pure_form(wheel, scratch / "pure", python)
        unpack_wheel(carried, tree, drop_extensions=drop)
    (tree / "__main__.py").write_text(ZIPAPP_MAIN)
    compile_legacy_pyc(tree)
    zipapp.create_archive(tree, target, interpreter="/usr/bin/env python3", compressed=True)
    target.chmod(0o755)  # also runnable as ./skoala-airgap.pyz, by anyone on the bastion


def build_wheelhouse(top: str, wheels: list[Path], target: Path) -> None:
    """``TOP/install.sh`` and ``TOP/wheels/*.whl`` in a .tar.gz; mtimes are the wheels' own."""
    with tarfile.open(target, "w:gz") as tar:
        data = INSTALL_SH.read_bytes()
        info = tarfile.TarInfo(f"{top}/install.sh")
        info.size, info.mode, info.mtime = len(data), 0o755, int(INSTALL_SH.stat().st_mtime)
        tar.addfile(info, io.BytesIO(data))
        for wheel in sorted(wheels, key=lambda p: p.name):
            tar.add(wheel, arcname=f"{top}/wheels/{wheel.name}", recursive=False)


def build(out: Path) -> tuple[Path, Path]:
    """Build both artefacts into ``out``; returns (wheelhouse tarball, zipapp)."""
    name, version, dependencies = read_project()
    out.mkdir(parents=True, exist_ok=True)
    top = f"{name}-{version}-wheelhouse"
    tarball, pyz = out / f"{top}.tar.gz", out / ZIPAPP_NAME
    with tempfile.TemporaryDirectory(prefix="skoala-dist-") as tmp:
        scratch = Path(tmp)
        ours = build_project_wheel(scratch / "project", scratch)
        per_python = {py: download_dependencies(dependencies, scratch / f"deps-{py}", py) for py in WHEELHOUSE_PYTHONS}
        # One copy of each file: pure wheels are shared by every Python version.
        everything = {w.path.name: w.path for deps in per_python.values() for w in deps}
        everything[ours.path.name] = ours.path
        # Write next to the final names, then rename: a failed build leaves no half-written artefact.
        build_wheelhouse(top, list(everything.values()), tarball.with_suffix(".part"))
        lowest = WHEELHOUSE_PYTHONS[0]
        build_zipapp([ours, *per_python[lowest]], pyz.with_suffix(".part"), scratch, lowest)
    tarball.with_suffix(".part").replace(tarball)
    pyz.with_suffix(".part").replace(pyz)
    return tarball, pyz


def main() -> int:
    parser = argparse.ArgumentParser(prog="python .ci/dist.py", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output directory (default: dist/)")
    args = parser.parse_args()
    for artefact in build(args.out.resolve()):
        print(f"{artefact}  ({artefact.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
