"""The bad-input corpus (issue 10): every way an archive, chart, hint, config, option or network target
can be wrong, each run through the real CLI against the session registry.

Each case asserts the exit code (2 for the input's fault, 1 for a target that cannot be reached), that
stderr holds exactly one error line naming the file (and the member where there is one), that no
traceback is printed, and that nothing reached the target: the case's repository prefix is absent from
the registry's storage and no chart was written. Faults only found while streaming (a corrupted layer)
may have placed the healthy images first; for those the broken image's tag must be absent and no upload
session may be left open.

Inputs are mutations of one generated offline package (built once per module), written into tmp_path.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.bundles import OfflinePackage, write_offline_package
from fixtures.images import GoTarWriter, make_image, make_layer, write_oci_layout
from tests.helpers import CliResult, run_cli
from tests.infra import serving
from tests.infra.registry import RegistryProcess

PASSWORD = "S3cret-Pa55word"
ERROR_PREFIX = "skoala-airgap: error: "


# -- tar surgery --------------------------------------------------------------------------------------


def members(data: bytes) -> list[tuple[str, bytes]]:
    """Regular-file members of a tar in archive order."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for info in tar:
            if info.isreg():
                handle = tar.extractfile(info)
                assert handle is not None
                out.append((info.name, handle.read()))
    return out


def pack(items: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    writer = GoTarWriter(out)
    for name, data in items:
        writer.add_bytes(name, data)
    writer.close()
    return out.getvalue()


def edit(
    data: bytes,
    *,
    replace: dict[str, bytes] | None = None,
    drop: Callable[[str], bool] | None = None,
    add: list[tuple[str, bytes]] | None = None,
) -> bytes:
    items = [(name, (replace or {}).get(name, body)) for name, body in members(data) if drop is None or not drop(name)]
    return pack(items + (add or []))


def member(data: bytes, name: str) -> bytes:
    return dict(members(data))[name]


def edit_images(bundle: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The bundle with its nested images.tar changed."""
    return edit(bundle, replace={"images.tar": change(member(bundle, "images.tar"))})


def flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def ggcr_manifest(images_tar: bytes) -> list[dict[str, Any]]:
    listing = json.loads(member(images_tar, "manifest.json"))
    assert isinstance(listing, list)
    return listing


def with_manifest(images_tar: bytes, listing: Any) -> bytes:
    return edit(images_tar, replace={"manifest.json": json.dumps(listing).encode()})


def entry_of(images_tar: bytes, repository: str) -> dict[str, Any]:
    return next(e for e in ggcr_manifest(images_tar) if any(repository in t for t in e["RepoTags"] or []))


# -- the generated inputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    package: OfflinePackage
    skoala: bytes  # skoala_0.28.1.bundle.tar
    init: bytes  # skoala-init_0.28.1.bundle.tar
    files: dict[str, bytes]  # every outer member of the package
    oci_dir: Path  # an OCI layout directory with one image
    oci_image: str


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("bad-input-base")
    package = write_offline_package(root / "pkg", layer_size=2048, workdir=root / "work")
    files = dict(members(package.path.read_bytes()))
    layer = make_layer(root / "layers", 2048, seed="oci")
    image = make_image(["docker.m.daocloud.io/skoala/oci-app:v1"], [layer])
    oci_dir = write_oci_layout(root / "oci", [image], as_tar=False, ref_name_style="full")
    return Base(
        package,
        files["skoala_0.28.1.bundle.tar"],
        files["skoala-init_0.28.1.bundle.tar"],
        files,
        oci_dir,
        image.names[0],
    )


@dataclass
class Ctx:
    """What a case builder gets: the inputs, a scratch folder and where the target is."""

    base: Base
    work: Path
    registry: str
    prefix: str  # every repository this case may write starts with it
    charts: Path  # LOCAL chart target of sync cases

    def write(self, name: str, data: bytes) -> Path:
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def package(self, replace: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> Path:
        """A vendor package with some members replaced or dropped (named like the real one)."""
        items = [(n, (replace or {}).get(n, b)) for n, b in self.base.files.items() if n not in drop]
        return self.write("skoala_v0.28.1_amd64.tar", pack(items))

    def bundle(self, data: bytes, name: str = "skoala_0.28.1.bundle.tar") -> Path:
        return self.write(name, data)

    def push(self, source: Path | str, *extra: str) -> list[str]:
        return [
            "push-images",
            str(source),
            "--registry",
            self.registry,
            "--prefix-repository",
            self.prefix,
            "--plain-http",
            "-q",
            *extra,
        ]

    def config(self, bundles: Path | str | None = None, **target: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "source": {"intermediateBundlesPath": str(bundles or self.base.package.path)},
            "target": {
                "containerRegistry": self.registry,
                "containerPrefixRepository": self.prefix,
                "repo": {"kind": "LOCAL", "path": str(self.charts)},
            },
        }
        config["target"].update(target)
        return config

    def sync_config(self, config: dict[str, Any] | str, *extra: str) -> list[str]:
        path = self.work / "load-image.yaml"
        path.write_text(config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False))
        return ["sync", "--config", str(path), "--plain-http", "-q", *extra]

    def sync_bundle(self, data: bytes, name: str = "skoala_0.28.1.bundle.tar", *extra: str) -> list[str]:
        """sync of a bundle folder holding this one bundle."""
        folder = self.work / "bundles"
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)
        return self.sync_config(self.config(folder), *extra)


@dataclass(frozen=True)
class Run:
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None


Builder = Callable[[Ctx], "list[str] | Run"]


@dataclass(frozen=True)
class Case:
    id: str
    build: Builder
    needles: tuple[str, ...]  # each must be in the error line (file, member, reason words)
    code: int = 2
    midrun: str = ""  # set for faults found while streaming: the repository (under the prefix) that must stay untagged


# -- archives -----------------------------------------------------------------------------------------


def _truncated_package(c: Ctx) -> list[str]:
    data = c.base.package.path.read_bytes()
    return c.push(c.write("skoala_v0.28.1_amd64.tar", data[: len(data) // 2 + 100]))


def _truncated_bundle(c: Ctx) -> list[str]:
    return c.push(c.bundle(c.base.skoala[: len(c.base.skoala) - 4000]))


def _no_end_marker(c: Ctx) -> list[str]:
    data = pack(list(c.base.files.items()))
    return c.push(c.write("skoala_v0.28.1_amd64.tar", data[:-1024]))


def _unsafe(name: str) -> Builder:
    def build(c: Ctx) -> list[str]:
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for n, body in [*c.base.files.items(), (name, b"x")]:
                info = tarfile.TarInfo(n)
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
        return c.push(c.write("skoala_v0.28.1_amd64.tar", out.getvalue()))

    return build


def _symlink_escape(c: Ctx) -> list[str]:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for n, body in members(c.base.skoala):
            if n == "images.tar":
                link = tarfile.TarInfo("images.tar")
                link.type, link.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
                tar.addfile(link)
                continue
            info = tarfile.TarInfo(n)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return c.push(c.bundle(out.getvalue()))


def _conflicting_duplicate(c: Ctx) -> list[str]:
    items = [*c.base.files.items(), ("skoala_0.28.1.bundle.tar", c.base.init)]
    return c.push(c.write("skoala_v0.28.1_amd64.tar", pack(items)))


def _layer_hex(images_tar: bytes, repository: str, which: int = -1) -> str:
    return str(entry_of(images_tar, repository)["Layers"][which])


def _change_layer(change: Callable[[bytes], bytes]) -> Builder:
    def build(c: Ctx) -> list[str]:
        def images(data: bytes) -> bytes:
            name = _layer_hex(data, "skoala/hive")
            return edit(data, replace={name: change(member(data, name))})

        return c.push(c.bundle(edit_images(c.base.skoala, images)))

    return build


def _config_changed(c: Ctx) -> list[str]:
    """Defect 3: the config's bytes change, its member name (its digest) does not."""

    def images(data: bytes) -> bytes:
        name = str(entry_of(data, "skoala/hive")["Config"])
        config = json.loads(member(data, name))
        config["config"]["Env"].append("INJECTED=1")
        return edit(data, replace={name: json.dumps(config, separators=(",", ":")).encode()})

    return c.push(c.bundle(edit_images(c.base.skoala, images)))


def _config_bytes(body: bytes) -> Builder:
    def build(c: Ctx) -> list[str]:
        def images(data: bytes) -> bytes:
            return edit(data, replace={str(entry_of(data, "skoala/hive")["Config"]): body})

        return c.push(c.bundle(edit_images(c.base.skoala, images)))

    return build


def _diff_id_count(c: Ctx) -> list[str]:
    """A config listing one layer where manifest.json lists two (renamed to its true digest)."""
    import hashlib

    def images(data: bytes) -> bytes:
        listing = ggcr_manifest(data)
        entry = next(e for e in listing if "skoala/hive" in e["RepoTags"][0])
        config = json.loads(member(data, entry["Config"]))
        config["rootfs"]["diff_ids"] = config["rootfs"]["diff_ids"][:1]
        body = json.dumps(config, separators=(",", ":")).encode()
        name = "sha256:" + hashlib.sha256(body).hexdigest()
        entry["Config"] = name
        return with_manifest(edit(data, add=[(name, body)]), listing)

    return c.push(c.bundle(edit_images(c.base.skoala, images)))


def _manifest_change(change: Callable[[list[dict[str, Any]]], Any]) -> Builder:
    def build(c: Ctx) -> list[str]:
        def images(data: bytes) -> bytes:
            return with_manifest(data, change(ggcr_manifest(data)))

        return c.push(c.bundle(edit_images(c.base.skoala, images)))

    return build


def _absent_layer(listing: list[dict[str, Any]]) -> Any:
    listing[0]["Layers"][-1] = "0" * 64 + ".tar.gz"
    return listing


def _absent_config(listing: list[dict[str, Any]]) -> Any:
    listing[0]["Config"] = "sha256:" + "1" * 64
    return listing


def _no_config(listing: list[dict[str, Any]]) -> Any:
    del listing[0]["Config"]
    return listing


def _images_member(body: Callable[[bytes], bytes]) -> Builder:
    def build(c: Ctx) -> list[str]:
        return c.push(c.bundle(edit_images(c.base.skoala, body)))

    return build


def _bundle_without(prefix: str, *, in_package: bool) -> Builder:
    def build(c: Ctx) -> list[str]:
        data = edit(c.base.skoala, drop=lambda n: n.startswith(prefix))
        if in_package:
            return c.push(c.package({"skoala_0.28.1.bundle.tar": data}))
        return c.push(c.bundle(data))

    return build


# -- OCI layouts --------------------------------------------------------------------------------------


def _oci(change: Callable[[Path], object], *, as_tar: bool = False) -> Builder:
    def build(c: Ctx) -> list[str]:
        import shutil

        layout = c.work / "oci"
        shutil.copytree(c.base.oci_dir, layout)
        change(layout)
        if as_tar:
            items = sorted((str(p.relative_to(layout)), p.read_bytes()) for p in layout.rglob("*") if p.is_file())
            return c.push(c.write("oci.tar", pack(items)))
        return c.push(layout)

    return build


def _oci_index(layout: Path) -> dict[str, Any]:
    index: dict[str, Any] = json.loads((layout / "index.json").read_text())
    return index


def _oci_manifest_path(layout: Path) -> Path:
    digest = str(_oci_index(layout)["manifests"][0]["digest"]).split(":")[1]
    return layout / "blobs" / "sha256" / digest


def _oci_manifest(layout: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(_oci_manifest_path(layout).read_text())
    return manifest


def _oci_blob(layout: Path, which: str) -> Path:
    manifest = _oci_manifest(layout)
    desc = manifest["config"] if which == "config" else manifest["layers"][-1]
    return layout / "blobs" / "sha256" / str(desc["digest"]).split(":")[1]


def _oci_missing_manifest(layout: Path) -> None:
    index = _oci_index(layout)
    index["manifests"][0]["digest"] = "sha256:" + "2" * 64
    (layout / "index.json").write_text(json.dumps(index))


def _oci_bad_version(layout: Path) -> None:
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"9.9.9"}')


def _oci_change_blob(which: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def apply(layout: Path) -> None:
        path = _oci_manifest_path(layout) if which == "manifest" else _oci_blob(layout, which)
        path.write_bytes(change(path.read_bytes()))

    return apply


# -- checksums ----------------------------------------------------------------------------------------


def _with_checksum(text: str | None, *command: str) -> Builder:
    def build(c: Ctx) -> list[str]:
        package = c.package()
        checksum = package.with_name("skoala_v0.28.1_amd64_checksum.sha512sum")
        if text is not None:
            checksum.write_text(text.replace("NAME", package.name))
        if command and command[0] == "inspect":
            return ["inspect", str(package), *command[1:], "-q"]
        return c.push(package, *command)

    return build


# -- charts -------------------------------------------------------------------------------------------


def _chart_member(name: str, body: bytes) -> Builder:
    def build(c: Ctx) -> list[str]:
        return c.sync_bundle(edit(c.base.skoala, replace={name: body}))

    return build


def _chart_yaml(change: Callable[[dict[str, Any]], Any]) -> Builder:
    def build(c: Ctx) -> list[str]:
        meta = yaml.safe_load(member(c.base.skoala, "original-chart/Chart.yaml"))
        body = yaml.safe_dump(change(meta)).encode()
        return c.sync_bundle(edit(c.base.skoala, replace={"original-chart/Chart.yaml": body}))

    return build


def _set_version(meta: dict[str, Any]) -> dict[str, Any]:
    meta["version"] = "latest-and-greatest"
    return meta


def _drop_name(meta: dict[str, Any]) -> dict[str, Any]:
    del meta["name"]
    return meta


def _hint_image_absent(c: Ctx) -> list[str]:
    values = member(c.base.skoala, "original-chart/values.yaml").replace(b"tag: v0.28.1", b"tag: v9.9.9", 1)
    return c.sync_bundle(edit(c.base.skoala, replace={"original-chart/values.yaml": values}))


def _no_images_tar_sync(c: Ctx) -> list[str]:
    return c.sync_bundle(edit(c.base.skoala, drop=lambda n: n == "images.tar"))


def _misnamed_bundle(c: Ctx) -> list[str]:
    return c.sync_bundle(c.base.skoala, "skoala.bundle.tar")


def _misnamed_in_package(c: Ctx) -> list[str]:
    """Defect 9: the only bundle of a package is misnamed; the error says why nothing is synced."""
    package = c.write(PKG, pack([("skoala.bundle.tar", c.base.skoala), ("README.txt", b"hello")]))
    return c.sync_config(c.config(package))


def _push_bad_hints(c: Ctx) -> list[str]:
    return c.push(c.bundle(edit(c.base.skoala, replace={"hints.yaml": b"- [unclosed\n"})))


def _sync_layer_changed(c: Ctx) -> list[str]:
    """Defect 4/5 in sync: a corrupted layer is found while streaming."""

    def images(data: bytes) -> bytes:
        name = _layer_hex(data, "skoala/hive")
        return edit(data, replace={name: flip_middle(member(data, name))})

    return c.sync_bundle(edit_images(c.base.skoala, images))


# -- configs ------------------------------------------------------------------------------------------


def _config(change: Callable[[Ctx, dict[str, Any]], Any]) -> Builder:
    def build(c: Ctx) -> list[str]:
        config = c.config()
        return c.sync_config(change(c, config) or config)

    return build


def _config_text(text: str) -> Builder:
    def build(c: Ctx) -> list[str]:
        return c.sync_config(text.replace("PKG", str(c.base.package.path)))

    return build


def _kind(kind: str, **repo: Any) -> Callable[[Ctx, dict[str, Any]], Any]:
    def change(c: Ctx, config: dict[str, Any]) -> None:
        config["target"]["repo"] = {"kind": kind, **repo}

    return change


def _no_rules(c: Ctx, config: dict[str, Any]) -> None:
    del config["target"]["containerRegistry"]
    del config["target"]["containerPrefixRepository"]


def _local_is_file(c: Ctx, config: dict[str, Any]) -> None:
    path = c.write("charts-file", b"not a folder")
    config["target"]["repo"]["path"] = str(path)


def _source_repo(c: Ctx, config: dict[str, Any]) -> None:
    config["source"] = {"repo": {"kind": "HELM", "url": "https://release.daocloud.io/chartrepo/skoala"}}


def _url_password(c: Ctx, config: dict[str, Any]) -> None:
    config["target"]["repo"] = {"kind": "CHARTMUSEUM", "url": f"http://admin:{PASSWORD}@127.0.0.1:9/"}


def _unknown_field(c: Ctx, config: dict[str, Any]) -> None:
    config["target"]["containerRegistryy"] = "typo.example"


def _missing_bundles(c: Ctx, config: dict[str, Any]) -> None:
    config["source"]["intermediateBundlesPath"] = str(c.work / "no-such-package.tar")


def _scheme_registry(c: Ctx, config: dict[str, Any]) -> None:
    config["target"]["containerRegistry"] = f"http://{c.registry}"


def _config_is_dir(c: Ctx) -> list[str]:
    folder = c.work / "conf.d"
    folder.mkdir()
    return ["sync", "--config", str(folder)]


def _config_absent(c: Ctx) -> list[str]:
    return ["sync", "--config", str(c.work / "load-image.yaml")]


def _with_password(*command: str) -> Builder:
    """Defect 8: a password in a URL's user info is refused, and printed by nothing."""

    def build(c: Ctx) -> list[str]:
        config = c.config()
        _url_password(c, config)
        c.sync_config(config)
        path = str(c.work / "load-image.yaml")
        if command[0] == "sync":
            return ["sync", "--config", path, *command[1:]]
        return [*command, path]

    return build


_DUPLICATE = """source:
  intermediateBundlesPath: PKG
target:
  containerRegistry: r1.example
  repo:
    kind: LOCAL
    path: charts
  containerRegistry: r2.example
"""


# -- options ------------------------------------------------------------------------------------------


def _options(*extra: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Builder:
    def build(c: Ctx) -> Run:
        return Run(c.push(c.base.package.path, *extra), env=env or {}, stdin=stdin)

    return build


def _raw(*args: str) -> Builder:
    def build(c: Ctx) -> list[str]:
        return [a.replace("PKG", str(c.base.package.path)).replace("REG", c.registry) for a in args]

    return build


# -- network ------------------------------------------------------------------------------------------


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unreachable(c: Ctx) -> list[str]:
    host = f"127.0.0.1:{_dead_port()}"
    args = c.push(c.base.package.path, "--retries", "0")
    args[args.index(c.registry)] = host
    return args


@pytest.fixture(scope="module")
def token_realm_down() -> Iterator[str]:
    """A registry that asks for a Bearer token from a realm where nothing listens."""
    realm = f"http://127.0.0.1:{_dead_port()}/token"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="registry"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as host:
        yield host


def _token_realm(c: Ctx) -> list[str]:
    args = c.push(c.base.package.path, "--retries", "0")
    args[args.index(c.registry)] = "TOKEN_REGISTRY"
    return args


# -- the corpus ---------------------------------------------------------------------------------------

PKG = "skoala_v0.28.1_amd64.tar"
BUNDLE = "skoala_0.28.1.bundle.tar"
IMAGES = f"{BUNDLE}!images.tar"

CASES: list[Case] = [
    # archives
    Case("archive-truncated-package", _truncated_package, (PKG,)),
    Case("archive-truncated-bundle", _truncated_bundle, (BUNDLE,)),
    Case("archive-not-a-tar", lambda c: c.push(c.write(PKG, os.urandom(3000))), (PKG, "tar")),
    Case("archive-empty-file", lambda c: c.push(c.write(PKG, b"")), (PKG,)),
    Case("archive-text-file", lambda c: c.push(c.write(PKG, b"hello, world\n" * 50)), (PKG,)),
    Case(
        "archive-gzipped-package",
        lambda c: c.push(c.write(PKG, gzip.compress(c.base.package.path.read_bytes()))),
        (PKG, "gzip"),
    ),
    Case("archive-no-end-marker", _no_end_marker, (PKG,)),
    Case("archive-missing-path", lambda c: c.push(c.work / "absent.tar"), ("absent.tar", "no such file")),
    Case("archive-absolute-member", _unsafe("/etc/evil.bundle.tar"), (PKG, "/etc/evil.bundle.tar")),
    Case("archive-dotdot-member", _unsafe("../evil.bundle.tar"), (PKG, "../evil.bundle.tar")),
    Case("archive-symlink-escape", _symlink_escape, (BUNDLE, "images.tar")),
    Case("archive-conflicting-duplicate", _conflicting_duplicate, (PKG, BUNDLE)),
    Case("archive-empty-folder", lambda c: c.push(c.work), ("NAME_VERSION.bundle.tar",)),
    Case("bundle-missing-hints", _bundle_without("hints.yaml", in_package=False), (BUNDLE, "hints.yaml")),
    Case("package-bundle-missing-hints", _bundle_without("hints.yaml", in_package=True), (PKG, BUNDLE, "hints.yaml")),
    Case("package-bundle-missing-images-tar", _bundle_without("images.tar", in_package=True), (PKG, BUNDLE)),
    Case("bundle-missing-original-chart", _bundle_without("original-chart/", in_package=False), (BUNDLE, "chart")),
    Case(
        "package-bundle-missing-chart-yaml",
        _bundle_without("original-chart/Chart.yaml", in_package=True),
        (PKG, BUNDLE, "Chart.yaml"),
    ),
    Case("images-manifest-absent-layer", _manifest_change(_absent_layer), (IMAGES, "0" * 64)),
    Case("images-manifest-absent-config", _manifest_change(_absent_config), (IMAGES, "1" * 64)),
    Case("images-manifest-no-config", _manifest_change(_no_config), (IMAGES, "manifest.json")),
    Case("images-manifest-not-a-list", _manifest_change(lambda listing: {"a": 1}), (IMAGES, "manifest.json")),
    Case(
        "images-manifest-invalid-json",
        _images_member(lambda d: edit(d, replace={"manifest.json": b"[{not json"})),
        (IMAGES, "manifest.json", "JSON"),
    ),
    Case(
        "images-without-manifest",
        _images_member(lambda d: edit(d, drop=lambda n: n == "manifest.json")),
        (IMAGES,),
    ),
    Case("images-not-a-tar", _images_member(lambda d: os.urandom(4096)), (IMAGES,)),
    Case("images-truncated", _images_member(lambda d: d[: len(d) // 2]), (IMAGES,)),
    Case(
        "images-layer-bytes-changed",
        _change_layer(flip_middle),
        (IMAGES, ".tar.gz", "does not match"),
        midrun="skoala/hive",
    ),
    Case(
        "images-layer-truncated",
        _change_layer(lambda d: d[:-100]),
        (IMAGES, ".tar.gz", "does not match"),
        midrun="skoala/hive",
    ),
    Case("images-config-bytes-changed", _config_changed, (IMAGES, "sha256:", "does not match")),
    Case("images-config-not-json", _config_bytes(b"{not json"), (IMAGES, "sha256:")),
    Case("images-config-diff-id-count", _diff_id_count, (IMAGES, "sha256:", "layers")),
    # OCI layouts
    Case(
        "oci-index-invalid-json",
        _oci(lambda p: (p / "index.json").write_text("{nope")),
        ("oci", "index.json", "JSON"),
    ),
    Case("oci-index-not-object", _oci(lambda p: (p / "index.json").write_text("[]")), ("oci", "index.json")),
    Case("oci-index-missing", _oci(lambda p: (p / "index.json").unlink()), ("oci", "index.json")),
    Case("oci-index-names-missing-manifest", _oci(_oci_missing_manifest), ("oci", "2" * 64)),
    Case("oci-layout-bad-version", _oci(_oci_bad_version), ("oci", "oci-layout")),
    Case(
        "oci-manifest-bytes-changed",
        _oci(_oci_change_blob("manifest", lambda d: d.replace(b'"schemaVersion":2', b'"schemaVersion":2 '))),
        ("oci", "blobs/sha256/", "does not match"),
    ),
    Case(
        "oci-layer-size-mismatch",
        _oci(_oci_change_blob("layer", lambda d: d[:-10])),
        ("oci", "blobs/sha256/", "size"),
    ),
    Case(
        "oci-config-bytes-changed",
        _oci(_oci_change_blob("config", lambda d: d.replace(b'"os":"linux"', b'"os":"Linux"'))),
        ("oci", "blobs/sha256/", "does not match"),
    ),
    Case(
        "oci-tar-index-invalid-json",
        _oci(lambda p: (p / "index.json").write_text("{nope"), as_tar=True),
        ("oci.tar", "index.json"),
    ),
    # checksums
    Case("checksum-mismatch", _with_checksum("0" * 128 + "  NAME\n", "--verify"), (PKG, "checksum")),
    Case("checksum-malformed", _with_checksum("abc  NAME\n", "--verify"), ("sha512sum", PKG)),
    Case("checksum-other-file", _with_checksum("0" * 128 + "  other.tar\n", "--verify"), ("sha512sum", PKG)),
    Case("checksum-missing", _with_checksum(None, "--verify"), (PKG, "--allow-missing-checksum")),
    Case("inspect-checksum-missing", _with_checksum(None, "inspect", "--verify"), (PKG, "--allow-missing-checksum")),
    Case("inspect-checksum-mismatch", _with_checksum("0" * 128 + "  NAME\n", "inspect", "--verify"), (PKG, "checksum")),
    Case("verify-not-a-package", lambda c: c.push(c.bundle(c.base.skoala), "--verify"), (BUNDLE, "--verify")),
    # charts
    Case("chart-hints-invalid-yaml", _chart_member("hints.yaml", b"- [unclosed\n"), (BUNDLE, "hints.yaml")),
    Case("chart-hints-not-a-list", _chart_member("hints.yaml", b"images: nope\n"), (BUNDLE, "hints.yaml")),
    Case(
        "chart-hint-absent-key",
        _chart_member("hints.yaml", b'- "{{ .nosuch.image.registry }}/{{ .nosuch.image.repository }}:v1"\n'),
        (BUNDLE, "hints.yaml", "nosuch"),
    ),
    Case(
        "chart-hint-template-syntax",
        _chart_member("hints.yaml", b'- "{{ .hive.image.registry /{{ .hive.image.repository }}"\n'),
        (BUNDLE, "hints.yaml"),
    ),
    Case("chart-hint-image-absent", _hint_image_absent, (BUNDLE, "v9.9.9")),
    Case("chart-version-not-semver", _chart_yaml(_set_version), (BUNDLE, "Chart.yaml", "latest-and-greatest")),
    Case(
        "chart-yaml-invalid",
        _chart_member("original-chart/Chart.yaml", b"name: [skoala\n"),
        (BUNDLE, "Chart.yaml"),
    ),
    Case("chart-yaml-no-name", _chart_yaml(_drop_name), (BUNDLE, "Chart.yaml")),
    Case(
        "chart-values-invalid-yaml",
        _chart_member("original-chart/values.yaml", b"hive: [unclosed\n  image: {\n"),
        (BUNDLE, "original-chart/values.yaml"),
    ),
    Case(
        "chart-values-not-mapping",
        _chart_member("original-chart/values.yaml", b"- a\n- b\n"),
        (BUNDLE, "original-chart/values.yaml"),
    ),
    Case("chart-bundle-without-images-tar", _no_images_tar_sync, (BUNDLE, "images.tar")),
    Case("chart-lone-misnamed-bundle", _misnamed_bundle, ("skoala.bundle.tar", "NAME_VERSION")),
    Case("package-lone-misnamed-bundle", _misnamed_in_package, (PKG, "skoala.bundle.tar", "NAME_VERSION")),
    Case("push-bundle-bad-hints", _push_bad_hints, (BUNDLE, "hints.yaml")),
    Case(
        "sync-layer-bytes-changed",
        _sync_layer_changed,
        (IMAGES, ".tar.gz", "does not match"),
        midrun="skoala/hive",
    ),
    # configs
    Case("config-invalid-yaml", _config_text("source: [unclosed\n"), ("load-image.yaml",)),
    Case("config-not-a-mapping", _config_text("- a\n- b\n"), ("load-image.yaml",)),
    Case("config-empty", _config_text(""), ("load-image.yaml",)),
    Case("config-duplicate-key", _config_text(_DUPLICATE), ("load-image.yaml", "duplicate", "containerRegistry")),
    Case("config-unknown-kind", _config(_kind("S3")), ("load-image.yaml", "kind")),
    Case("config-chartmuseum-without-url", _config(_kind("CHARTMUSEUM")), ("load-image.yaml", "url")),
    Case("config-missing-rewrite-rule", _config(_no_rules), ("load-image.yaml",)),
    Case("config-local-path-is-file", _config(_local_is_file), ("charts-file", "file")),
    Case("config-source-repo", _config(_source_repo), ("load-image.yaml", "source.repo")),
    Case("config-url-password", _config(_url_password), ("load-image.yaml", "user info")),
    Case("config-validate-url-password", _with_password("config", "validate"), ("load-image.yaml",)),
    Case("config-show-url-password", _with_password("config", "show"), ("load-image.yaml", "user info")),
    Case("dry-run-url-password", _with_password("sync", "--dry-run"), ("load-image.yaml", "user info")),
    Case("config-unknown-field", _config(_unknown_field), ("load-image.yaml", "containerRegistryy")),
    Case("config-bundles-path-missing", _config(_missing_bundles), ("no-such-package.tar",)),
    Case("config-registry-with-scheme", _config(_scheme_registry), ("load-image.yaml",)),
    Case("config-is-a-folder", _config_is_dir, ("conf.d", "directory")),
    Case("config-file-missing", _config_absent, ("load-image.yaml", "not found")),
    # options
    Case(
        "option-registry-with-scheme", _raw("push-images", "PKG", "--registry", "http://REG"), ("--registry", "http://")
    ),
    Case(
        "option-prefix-registry-with-scheme",
        _raw("push-images", "PKG", "--prefix-registry", "https://REG"),
        ("--prefix-registry",),
    ),
    Case("option-concurrency-zero", _options("--concurrency", "0"), ("--concurrency",)),
    Case("option-retries-too-many", _options("--retries", "99"), ("--retries",)),
    Case("option-read-timeout-zero", _options("--read-timeout", "0"), ("--read-timeout",)),
    Case("option-connect-timeout-text", _options("--connect-timeout", "soon"), ("--connect-timeout",)),
    Case("option-compress-unknown", _options("--compress", "bzip2"), ("--compress",)),
    Case("option-unknown", _options("--no-such-flag"), ("--no-such-flag",)),
    Case("option-platform-without-arch", _options("--platform", "linux"), ("--platform", "'linux'")),
    Case("option-platform-too-many-parts", _options("--platform", "linux/arm/v7/x"), ("--platform",)),
    Case("option-bool-value", _options("--insecure=maybe"), ("--insecure", "maybe")),
    Case("option-ca-file-missing", _options("--ca-file", "/nonexistent/ca.pem"), ("--ca-file",)),
    Case("option-password-stdin-without-user", _options("--password-stdin", stdin="pw\n"), ("--password-stdin",)),
    Case(
        "option-env-read-timeout",
        _options(env={"SKOALA_AIRGAP_READ_TIMEOUT": "abc"}),
        ("SKOALA_AIRGAP_READ_TIMEOUT",),
    ),
    Case("option-env-retries", _options(env={"SKOALA_AIRGAP_RETRIES": "many"}), ("SKOALA_AIRGAP_RETRIES",)),
    Case("option-no-source", _raw("push-images", "--registry", "REG"), ("SOURCE",)),
    Case("option-no-target", _raw("push-images", "PKG"), ("--registry",)),
    Case("option-unknown-command", _raw("push-imagez", "PKG"), ("push-imagez",)),
    # network: the target's fault, exit 1
    Case("network-refused", _unreachable, ("unreachable", "connection refused"), code=1),
    Case("network-token-realm-unreachable", _token_realm, ("unreachable", "token service"), code=1),
]


def _repository_dir(registry: RegistryProcess, repository: str) -> Path:
    return registry.data_dir / "docker" / "registry" / "v2" / "repositories" / repository


def _open_uploads(root: Path) -> list[Path]:
    """Upload sessions the registry still holds. A cancelled one may leave an empty ``hashstates`` folder
    behind (distribution 2.8 writes it after the DELETE removed the session); without ``startedat`` the
    session is gone."""
    return sorted(p.parent for p in root.rglob("_uploads/*/startedat")) if root.exists() else []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, base: Base, registry: RegistryProcess, token_realm_down: str, tmp_path: Path) -> None:
    prefix = f"bad-input/{case.id}"
    ctx = Ctx(base, tmp_path, registry.host, prefix, tmp_path / "charts-out")
    built = case.build(ctx)
    run = built if isinstance(built, Run) else Run(built)
    args = [a.replace("TOKEN_REGISTRY", token_realm_down) for a in run.args]
    env = {**os.environ, **run.env} if run.env else None
    result = run_cli(*args, env=env, stdin=run.stdin, timeout=60)
    _judge(case, result)
    root = _repository_dir(registry, prefix)
    if case.midrun:
        tag = root / case.midrun / "_manifests" / "tags"
        assert not tag.exists(), f"the broken image was tagged: {sorted(tag.iterdir())}"
        assert not _open_uploads(root), "an abandoned upload session was left open"
    else:
        assert not root.exists(), f"something was written under {prefix}: {sorted(root.rglob('*'))[:5]}"
    assert not ctx.charts.exists() or not any(ctx.charts.iterdir()), "a chart was written"
    assert PASSWORD not in result.stdout + result.stderr


def _judge(case: Case, result: CliResult) -> None:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert result.code == case.code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, result.stderr
    line = errors[0]
    for needle in case.needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    others = [ln for ln in result.stderr.splitlines() if ln.strip() and ln not in errors]
    if not case.midrun:
        # Found up front: the error is all there is (warnings about the input may precede it).
        assert all(ln.startswith("skoala-airgap: warning: ") for ln in others), result.stderr


DEBUG_CASES = [
    "archive-not-a-tar",
    "images-config-bytes-changed",
    "images-layer-bytes-changed",
    "chart-version-not-semver",
    "chart-hint-image-absent",
    "checksum-missing",
    "config-unknown-kind",
    "config-source-repo",
    "option-concurrency-zero",
    "option-registry-with-scheme",
    "network-refused",
]


@pytest.mark.parametrize("case", [c for c in CASES if c.id in DEBUG_CASES], ids=lambda c: c.id)
def test_debug_keeps_the_exit_code(case: Case, base: Base, registry: RegistryProcess, tmp_path: Path) -> None:
    """Defect 7: ``--debug`` adds the traceback and debug logs, never another exit code or another error."""
    prefix = f"bad-input-debug/{case.id}"
    built = case.build(Ctx(base, tmp_path, registry.host, prefix, tmp_path / "charts-out"))
    run = built if isinstance(built, Run) else Run(built)
    env = {**os.environ, **run.env} if run.env else None
    result = run_cli("--debug", *run.args, env=env, stdin=run.stdin, timeout=60)
    assert result.code == case.code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1 and all(n in errors[0] for n in case.needles), result.stderr


@pytest.mark.parametrize("command", ["inspect", "push-images"])
def test_allow_missing_checksum_goes_on_with_a_warning(command: str, base: Base, tmp_path: Path) -> None:
    """Defect 2's way out: with ``--allow-missing-checksum`` the missing file is said (inspect's report,
    push-images' one warning) and the run goes on, exit 0."""
    package = tmp_path / PKG
    package.write_bytes(base.package.path.read_bytes())  # no checksum file beside it
    args = [command, str(package), "--verify", "--allow-missing-checksum", "-q"]
    if command == "push-images":
        args += ["--registry", "registry.example.com", "--dry-run"]
    result = run_cli(*args)
    assert result.code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if command == "inspect":
        assert "checksum: absent" in result.stdout and not lines, result.stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("skoala-airgap: warning: ") and "checksum" in lines[0], lines
