"""Value context (subcharts, go-merge) and byte-preserving edits of values.yaml and Chart.yaml."""

from __future__ import annotations

import difflib
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from skoala_airgap.charts.hints import parse_hints, render
from skoala_airgap.charts.values_context import (
    build_values_context,
    go_merge,
    load_chart_archive,
    load_values,
    with_rewrites,
)
from skoala_airgap.charts.values_edit import apply_rewrites, encode_scalar, set_dependency_repositories_empty
from skoala_airgap.errors import InputError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WORDPRESS_TGZ = SHARED / "fixtures" / "real" / "wordpress-11.0.4.tgz"
WORDPRESS_HINTS = SHARED / "fixtures" / "real" / "wordpress-11.0.4.images.yaml"
needs_wordpress = pytest.mark.skipif(
    not (WORDPRESS_TGZ.is_file() and WORDPRESS_HINTS.is_file()), reason="shared/fixtures/real not available"
)


def _tgz(directory: str, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(f"{directory}/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts, line endings included."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    removed: list[str] = []
    added: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op != "equal":
            removed += old[i1:i2]
            added += new[j1:j2]
    return removed, added


# --------------------------------------------------------------------------------------------------------
# Loading values the way Helm does


def test_load_values_uses_yaml_v2_scalars_and_float64() -> None:
    values = load_values(
        b"a: 8\nb: 1.10\nc: y\nd: 1e3\ne: 010\nf: 2023-01-01\ng: '10'\nh:\ni: 1:30\nj: !custom x\n", "v"
    )
    assert values == {
        "a": 8.0,
        "b": 1.1,
        "c": True,
        "d": 1000.0,
        "e": 8.0,
        "f": "2023-01-01",
        "g": "10",
        "h": None,
        "i": "1:30",
        "j": "x",
    }
    assert all(type(values[k]) is not int for k in values)
    assert values["b"].source == "1.10"


@pytest.mark.parametrize("data", [b"", b"# only\n", b"~\n", b"---\n"])
def test_load_values_empty_is_empty_map(data: bytes) -> None:
    assert load_values(data, "v") == {}


@pytest.mark.parametrize("data", [b"- a\n", b"just text\n", b"a: [\n", b"\xff\xfe"])
def test_load_values_rejects(data: bytes) -> None:
    with pytest.raises(InputError, match=r"^charts/x/values.yaml: "):
        load_values(data, "charts/x/values.yaml")


# --------------------------------------------------------------------------------------------------------
# go-merge semantics (spec §2.3)


@pytest.mark.parametrize(
    ("base", "override", "merged"),
    [
        ({"tag": "1.0"}, {"tag": "2.0"}, {"tag": "2.0"}),
        ({"tag": "1.0"}, {"tag": ""}, {"tag": "1.0"}),
        ({"on": True}, {"on": False}, {"on": True}),
        ({"n": 3.0}, {"n": 0.0}, {"n": 3.0}),
        ({"l": ["a"]}, {"l": []}, {"l": ["a"]}),
        ({"l": ["a"]}, {"l": ["b", "c"]}, {"l": ["b", "c"]}),
        ({"tag": "1.0"}, {"tag": None}, {}),  # a null parent value deletes the key, as in Helm
        ({"image": {"tag": "1"}}, {"image": "nginx"}, {"image": {"tag": "1"}}),  # scalar over map: ignored
        ({"image": {"tag": "1"}}, {"image": None}, {"image": {"tag": "1"}}),
        ({"image": "x"}, {"image": {"tag": "1"}}, {"image": {"tag": "1"}}),
        ({"a": {"b": "1", "c": "2"}}, {"a": {"c": "3", "d": ""}}, {"a": {"b": "1", "c": "3", "d": ""}}),
        ({}, {"new": False, "gone": None}, {"new": False}),  # only-in-parent: taken unless null
        ({"tag": "1"}, "not a map", {"tag": "1"}),
        ({"tag": "1"}, None, {"tag": "1"}),
    ],
)
def test_go_merge(base: dict[str, Any], override: Any, merged: dict[str, Any]) -> None:
    assert go_merge(base, override) == merged


def test_with_rewrites_overlays_actions() -> None:
    context: dict[str, Any] = {"image": {"registry": "docker.io", "tag": "1"}, "sub": "scalar"}
    result = with_rewrites(context, [(("image", "registry"), "harbor.io"), (("new", "image", "repository"), "p/x")])
    assert result == {
        "image": {"registry": "harbor.io", "tag": "1"},
        "sub": "scalar",
        "new": {"image": {"repository": "p/x"}},
    }
    assert context["image"]["registry"] == "docker.io"


# --------------------------------------------------------------------------------------------------------
# Building the value context (spec §2.3)


def _chart(name: str, values: str = "", version: str = "1.0.0") -> dict[str, bytes]:
    files = {"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()}
    if values:
        files["values.yaml"] = values.encode()
    return files


ROOT_REDIS = "redis:\n  image:\n    tag: '7.2'\n"


def test_context_with_unpacked_and_packed_subcharts() -> None:
    redis = _chart("redis", "image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: '7.0'\n")
    redis["charts/common/Chart.yaml"] = b"name: common\nversion: 1.0.0\n"
    redis["charts/common/values.yaml"] = b"exampleValue: common-chart\n"
    files = {
        **_chart(
            "app", "image:\n  repository: app\nglobal:\n  imageRegistry: mirror.io\nredis:\n  image:\n    tag: '7.2'\n"
        ),
        # the directory name is not the chart name: the key is Chart.yaml's name
        "charts/pg-dir/Chart.yaml": b"name: postgresql\nversion: 12.1.0\n",
        "charts/pg-dir/values.yaml": b"image:\n  repository: bitnami/postgresql\n  tag: ''\n",
        "charts/redis-17.0.0.tgz": _tgz("redis", redis),
        "charts/_skipped/Chart.yaml": b"name: skipped\n",
        "charts/README.md": b"not a chart\n",
    }
    context = build_values_context(files)
    assert context["image"] == {"repository": "app"}
    # parent override wins over the subchart default, the rest of the subchart values stay
    assert context["redis"]["image"] == {"registry": "docker.io", "repository": "bitnami/redis", "tag": "7.2"}
    # recursion: the subchart's own subchart is merged under the subchart
    assert context["redis"]["common"] == {"exampleValue": "common-chart"}
    assert context["postgresql"] == {"image": {"repository": "bitnami/postgresql", "tag": ""}}
    assert "pg-dir" not in context and "skipped" not in context
    # global is not propagated into subcharts (charts-syncer behaviour, reproduced)
    assert "global" not in context["redis"]


def test_context_empty_parent_values_do_not_override() -> None:
    files = {
        **_chart("app", "db:\n  image:\n    tag: ''\n    registry:\n    debug: false\n    replicas: 0\n"),
        "charts/db/Chart.yaml": b"name: db\n",
        "charts/db/values.yaml": b"image:\n  tag: '1.0'\n  registry: docker.io\n  debug: true\n  replicas: 2\n",
    }
    image = build_values_context(files)["db"]["image"]
    assert image == {"tag": "1.0", "debug": True, "replicas": 2.0}  # null registry deleted the key


def test_context_without_root_values_and_with_leading_dot_paths() -> None:
    files = {"./Chart.yaml": b"name: app\n", "./charts/sub/Chart.yaml": b"name: sub\n"}
    assert build_values_context(files) == {"sub": {}}


def test_context_errors_name_the_file() -> None:
    with pytest.raises(InputError, match=r"app/charts/broken: no Chart.yaml"):
        build_values_context({"charts/broken/values.yaml": b"a: 1\n"}, source="app")
    with pytest.raises(InputError, match=r"app/charts/bad.tgz: not a gzipped chart archive"):
        build_values_context({"charts/bad.tgz": b"not gzip"}, source="app")
    with pytest.raises(InputError, match=r"app/values.yaml: expected a mapping"):
        build_values_context({"values.yaml": b"- a\n"}, source="app")


def test_load_chart_archive_strips_chart_directory() -> None:
    data = _tgz("mychart", {"Chart.yaml": b"name: mychart\n", "templates/a.yaml": b"x\n"})
    assert load_chart_archive(data, "c.tgz") == {"Chart.yaml": b"name: mychart\n", "templates/a.yaml": b"x\n"}


# --------------------------------------------------------------------------------------------------------
# apply_rewrites (spec §2.7)

SPEC_EXAMPLE = """\
# Default values for hive.
image:
  registry: docker.m.daocloud.io   # upstream mirror
  repository: skoala/hive
  tag: v0.28.1

## Resources
resources: {}
"""


def test_spec_example_only_the_scalar_changes() -> None:
    actions = [(("image", "registry"), "harbor.example.com/docker.m.daocloud.io")]
    result = apply_rewrites(SPEC_EXAMPLE, actions, source="values.yaml")
    assert _changes(SPEC_EXAMPLE, result) == (
        ["  registry: docker.m.daocloud.io   # upstream mirror\n"],
        ["  registry: harbor.example.com/docker.m.daocloud.io   # upstream mirror\n"],
    )


def test_registry_and_repository_in_order() -> None:
    actions = [(("image", "registry"), "harbor.io"), (("image", "repository"), "proj/hive")]
    result = apply_rewrites(SPEC_EXAMPLE, actions, source="values.yaml")
    assert _changes(SPEC_EXAMPLE, result)[1] == [
        "  registry: harbor.io   # upstream mirror\n",
        "  repository: proj/hive\n",
    ]


def test_quote_style_is_kept_and_quotes_added_when_needed() -> None:
    text = "a:\n  single: 'x'\n  double: \"x\"\n  plain: x\n"
    actions = [(("a", "single"), "it's"), (("a", "double"), "d/e"), (("a", "plain"), "yes")]
    result = apply_rewrites(text, actions, source="v")
    assert result == "a:\n  single: 'it''s'\n  double: \"d/e\"\n  plain: \"yes\"\n"


@pytest.mark.parametrize(
    ("line", "edited"),
    [
        ("  registry:\n", "  registry: harbor.io\n"),
        ("  registry: ~\n", "  registry: harbor.io\n"),
        ("  registry: null  # none\n", "  registry: harbor.io  # none\n"),
        ("  registry: 10\n", "  registry: harbor.io\n"),
        ("  registry: !!str docker.io\n", "  registry: harbor.io\n"),
        ("  registry: &reg docker.io\n", "  registry: &reg harbor.io\n"),
    ],
)
def test_existing_scalar_of_any_kind_is_replaced(line: str, edited: str) -> None:
    text = f"image:\n{line}  tag: '1'\n"
    result = apply_rewrites(text, [(("image", "registry"), "harbor.io")], source="v")
    assert _changes(text, result) == ([line], [edited])


def test_block_scalar_is_replaced_keeping_following_lines() -> None:
    text = "image:\n  registry: |\n    docker.io\n\n  tag: '1'\n"
    result = apply_rewrites(text, [(("image", "registry"), "harbor.io")], source="v")
    assert result == "image:\n  registry: harbor.io\n\n  tag: '1'\n"


def test_missing_key_is_inserted_after_the_last_entry() -> None:
    text = "image:\n  repository: nginx  # repo\n  pullSecrets:\n    - name: a\n# next section\nother: 1\n"
    result = apply_rewrites(text, [(("image", "registry"), "harbor.io")], source="v")
    assert result == (
        "image:\n  repository: nginx  # repo\n  pullSecrets:\n    - name: a\n"
        "  registry: harbor.io\n# next section\nother: 1\n"
    )


def test_missing_subchart_section_is_created_not_dropped() -> None:
    text = "image:\n    registry: docker.io\nredis:\n    enabled: true\n"
    actions = [(("redis", "image", "registry"), "harbor.io"), (("mariadb", "image", "registry"), "harbor.io")]
    result = apply_rewrites(text, actions, source="v")
    # the file's own 4-space indentation is used for the new maps
    assert result == (
        "image:\n    registry: docker.io\nredis:\n    enabled: true\n"
        "    image:\n        registry: harbor.io\n"
        "mariadb:\n    image:\n        registry: harbor.io\n"
    )


def test_null_intermediate_becomes_a_mapping() -> None:
    text = "redis:\n  image: ~   # set me\nnext: 1\n"
    result = apply_rewrites(text, [(("redis", "image", "registry"), "harbor.io")], source="v")
    assert result == "redis:\n  image:\n    registry: harbor.io   # set me\nnext: 1\n"


def test_top_level_scalar_path_is_supported() -> None:
    text = "# sidecar\nsidecarImage: docker.io/envoy:1.2  # pinned\n"
    result = apply_rewrites(text, [(("sidecarImage",), "harbor.io/envoy:1.2")], source="v")
    assert result == "# sidecar\nsidecarImage: harbor.io/envoy:1.2  # pinned\n"
    added = apply_rewrites("a: 1", [(("image",), "harbor.io/x@sha256:" + "0" * 64)], source="v")
    assert added == "a: 1\nimage: harbor.io/x@sha256:" + "0" * 64  # no newline at EOF before, none after


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "image:\n  registry: h.io\n"),
        ("# nothing yet\n", "# nothing yet\nimage:\n  registry: h.io\n"),
        ("---\n", "---\nimage:\n  registry: h.io\n"),
        ("~\n", "image:\n  registry: h.io\n"),
    ],
)
def test_empty_documents_get_the_path(text: str, expected: str) -> None:
    assert apply_rewrites(text, [(("image", "registry"), "h.io")], source="v") == expected


def test_flow_mappings() -> None:
    text = "image: {registry: docker.io, tag: '1'}\nempty: {}\n"
    actions = [
        (("image", "registry"), "h.io:5000"),
        (("image", "repository"), "p/x"),
        (("empty", "image", "registry"), "h.io"),
    ]
    result = apply_rewrites(text, actions, source="v")
    assert result == "image: {registry: \"h.io:5000\", tag: '1', repository: p/x}\nempty: {image: {registry: h.io}}\n"
    assert yaml.safe_load(result)["image"]["registry"] == "h.io:5000"


def test_crlf_line_endings_are_kept() -> None:
    text = "image:\r\n  registry: docker.io\r\n  tag: '1'\r\n"
    result = apply_rewrites(text, [(("image", "registry"), "h.io"), (("image", "repository"), "p/x")], source="v")
    assert result == "image:\r\n  registry: h.io\r\n  tag: '1'\r\n  repository: p/x\r\n"


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ("- a\n", ("image", "registry"), "the document is a list"),
        ("image: nginx:1.0\n", ("image", "registry"), r"\.image is the scalar 'nginx:1.0', not a mapping"),
        ("image:\n  - a\n", ("image", "registry"), r"\.image is a list"),
        ("image:\n  registry:\n    host: x\n", ("image", "registry"), "it holds a mapping"),
        ("base: &b {registry: x}\nimage: *b\n", ("image", "registry"), "YAML alias"),
        ("a: [\n", ("a",), "cannot parse YAML"),
        ("a: 1\n", (), "invalid value path"),
    ],
)
def test_rewrite_errors(text: str, path: tuple[str, ...], message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        apply_rewrites(text, [(path, "h.io")], source="chart/values.yaml")
    assert str(info.value).startswith("chart/values.yaml: ")


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("harbor.example.com/docker.io", "harbor.example.com/docker.io"),
        ("h.io/p/x@sha256:" + "a" * 64, "h.io/p/x@sha256:" + "a" * 64),
        ("localhost:5000", "localhost:5000"),
        ("", '""'),
        ("yes", '"yes"'),
        ("y", '"y"'),  # a boolean to yaml.v2 (Helm), a string to PyYAML
        ("1e3", '"1e3"'),  # a number to yaml.v2
        ("10", '"10"'),
        ("null", '"null"'),
        ("2024-01-01", '"2024-01-01"'),
        ("host:", '"host:"'),
        ("-x", '"-x"'),
        ("a b", '"a b"'),
        ("#x", '"#x"'),
    ],
)
def test_encode_scalar(value: str, encoded: str) -> None:
    assert encode_scalar(value) == encoded
    assert yaml.safe_load(f"k: {encoded}")["k"] == value
    assert load_values(f"k: {encoded}".encode(), "v")["k"] == value


# --------------------------------------------------------------------------------------------------------
# Chart.yaml dependencies (spec §4.5 step 2)

CHART_YAML = """\
apiVersion: v2
name: app   # the app
version: 1.2.3
dependencies:
  - name: redis
    version: 17.x.x
    repository: https://charts.bitnami.com/bitnami   # upstream
  - name: common
    repository: 'oci://registry-1.docker.io/bitnamicharts'
    version: 2.x.x
  - name: local
    repository: ""
    version: 0.1.0
  - name: nothing
    version: 0.1.0
  - {name: flow, repository: "file://../flow", version: 1.0.0}
"""


def test_dependency_repositories_blanked_and_nothing_else_changes() -> None:
    result = set_dependency_repositories_empty(CHART_YAML)
    assert _changes(CHART_YAML, result) == (
        [
            "    repository: https://charts.bitnami.com/bitnami   # upstream\n",
            "    repository: 'oci://registry-1.docker.io/bitnamicharts'\n",
            '  - {name: flow, repository: "file://../flow", version: 1.0.0}\n',
        ],
        [
            '    repository: ""   # upstream\n',
            "    repository: ''\n",
            '  - {name: flow, repository: "", version: 1.0.0}\n',
        ],
    )
    assert all(dep.get("repository", "") == "" for dep in yaml.safe_load(result)["dependencies"])


@pytest.mark.parametrize("text", ["", "apiVersion: v1\nname: x\n", "name: x\ndependencies:\n"])
def test_dependency_repositories_nothing_to_do(text: str) -> None:
    assert set_dependency_repositories_empty(text) == text


def test_dependency_repositories_bad_shape() -> None:
    with pytest.raises(InputError, match="dependencies is a mapping"):
        set_dependency_repositories_empty("dependencies:\n  a: b\n", source="app/Chart.yaml")


# --------------------------------------------------------------------------------------------------------
# The real bitnami wordpress chart


@needs_wordpress
def test_wordpress_rewrite_round_trip() -> None:
    files = load_chart_archive(WORDPRESS_TGZ.read_bytes(), WORDPRESS_TGZ.name)
    templates = parse_hints(WORDPRESS_HINTS.read_bytes(), WORDPRESS_HINTS.name)
    context = build_values_context(files)
    before = [render(t, context) for t in templates]

    actions: list[tuple[tuple[str, ...], str]] = []
    for template in templates:
        assert template.registry and template.repository
        repository = str(context_value(context, template.repository))
        actions.append((template.registry, "harbor.example.com"))
        actions.append((template.repository, "mirror/" + repository.rsplit("/", 1)[-1]))
    original = files["values.yaml"].decode()
    edited = apply_rewrites(original, actions, source="values.yaml")

    # existing root sections: exactly the registry/repository lines change, nothing else
    removed, added = _changes(original, edited)
    assert all(line.strip().startswith(("registry: docker.io", "repository: bitnami/")) for line in removed)
    assert len(removed) == 6  # image, metrics.image and volumePermissions.image in the root values
    # subchart sections absent from the root values are inserted instead of silently dropped
    assert "  image:\n    registry: harbor.example.com\n    repository: mirror/mariadb\n" in edited
    # 6 replaced lines; mariadb gets image (3 lines), metrics.image and volumePermissions.image (4 each);
    # memcached gets image (3) and metrics.image (4)
    assert len(added) == 6 + (3 + 4 + 4) + (3 + 4)

    relocated = build_values_context({**files, "values.yaml": edited.encode()})
    after = [render(t, relocated) for t in templates]
    assert after == ["harbor.example.com/mirror/" + ref.split("/", 1)[1].split("/", 1)[1] for ref in before]
    # the original comments survive
    assert edited.count("\n## ") == original.count("\n## ")

    chart_yaml = files["Chart.yaml"].decode()
    blanked = set_dependency_repositories_empty(chart_yaml)
    removed, added = _changes(chart_yaml, blanked)
    assert removed == ["  repository: https://charts.bitnami.com/bitnami\n"] * 3
    assert added == ['  repository: ""\n'] * 3


def context_value(context: dict[str, Any], path: tuple[str, ...]) -> Any:
    item: Any = context
    for key in path:
        item = item[key]
    return item
