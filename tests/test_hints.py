"""Hints: parsing, template classification, Go-style rendering; the real bitnami wordpress chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from skoala_airgap.charts.hints import ImageTemplate, go_format, parse_hints, render
from skoala_airgap.charts.values_context import build_values_context, load_chart_archive, load_values
from skoala_airgap.errors import InputError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WORDPRESS_TGZ = SHARED / "fixtures" / "real" / "wordpress-11.0.4.tgz"
WORDPRESS_HINTS = SHARED / "fixtures" / "real" / "wordpress-11.0.4.images.yaml"
needs_wordpress = pytest.mark.skipif(
    not (WORDPRESS_TGZ.is_file() and WORDPRESS_HINTS.is_file()), reason="shared/fixtures/real not available"
)

# --------------------------------------------------------------------------------------------------------
# Classification (spec §2.2)

R, P, C, T, D = "registry", "repository", "registry_and_repository", "tag", "digest"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}",
            {R: ("image", "registry"), P: ("image", "repository"), T: ("image", "tag")},
        ),
        ("{{ .image }}", {C: ("image",)}),
        ("{{.sidecar.image}}", {C: ("sidecar", "image")}),
        ("{{ .image }}:{{ .tag }}", {C: ("image",), T: ("tag",)}),
        ("{{ .image }}@{{ .digest }}", {C: ("image",), D: ("digest",)}),
        ("{{ .a.repo }}:{{ .a.tag }}@{{ .a.digest }}", {C: ("a", "repo"), T: ("a", "tag"), D: ("a", "digest")}),
        ("{{ .r }}/{{ .p }}", {R: ("r",), P: ("p",)}),
        ("docker.io/{{ .repo }}:{{ .tag }}", {C: ("repo",), T: ("tag",)}),
        ("{{ .a.b-c.d_e }}", {C: ("a", "b-c", "d_e")}),
        # relok8s's `[:|@]` also strips a placeholder after '|': only .x remains as a fragment
        ("{{ .x }}|{{ .y }}", {C: ("x",)}),
    ],
)
def test_classification(raw: str, expected: dict[str, tuple[str, ...]]) -> None:
    template = ImageTemplate.parse(raw)
    assert template.raw == raw
    for field in (R, P, C, T, D):
        assert getattr(template, field) == expected.get(field), field


def test_literals_and_placeholders_interleave() -> None:
    template = ImageTemplate.parse("docker.io/{{ .repo }}:{{ .tag }}-suffix")
    assert template.literals == ("docker.io/", ":", "-suffix")
    assert template.placeholders == (("repo",), ("tag",))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{{ .image }}:{{ .tag1 }}:{{ .tag2 }}", "too many tag template matches"),
        ("{{ .image }}@{{ .digest1 }}@{{ .digest2 }}", "too many digest template matches"),
        ("docker.io/library/nginx:1.25", "missing repo or a registry fragment"),
        (":{{ .tag }}", "missing repo or a registry fragment"),
        ("", "missing repo or a registry fragment"),
        ("{{ .a }}/{{ .b }}/{{ .c }}:{{ .t }}", "more fragments than expected"),
        ("{{ image.tag }}", "unsupported placeholder"),
        ('{{ .image.tag | default "x" }}', "unsupported placeholder"),
        ("{{ $.image }}", "unsupported placeholder"),
        ("{{ .a..b }}", "unsupported placeholder"),
        ("{{ }}", "unsupported placeholder"),
        ("{{ .image", "unclosed action"),
    ],
)
def test_classification_errors(raw: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        ImageTemplate.parse(raw)
    assert f'failed to parse image template "{raw}"' in str(info.value)


# --------------------------------------------------------------------------------------------------------
# The hints file (spec §2.1)


def test_parse_hints_order_duplicates_comments() -> None:
    data = b"""---
# a comment
- "{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}"
- '{{ .sidecar.image }}'   # one value holds registry/repo[:tag]
- "{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}"
"""
    templates = parse_hints(data, "hints.yaml")
    assert [t.raw for t in templates] == [
        "{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}",
        "{{ .sidecar.image }}",
        "{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}",
    ]
    assert templates[0] == templates[2]


@pytest.mark.parametrize("data", [b"", b"---\n", b"# nothing here\n", b"---\n# only comments\n"])
def test_parse_hints_empty(data: bytes) -> None:
    assert parse_hints(data, "hints.yaml") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"image: '{{ .image }}'\n", "expected a list of strings, found dict"),
        (b"'{{ .image }}'\n", "expected a list of strings, found str"),
        (b"- {{ .image }}\n", "not in the correct format"),  # unquoted: YAML sees a nested flow mapping
        (b"- {image: x}\n", "item 1 is dict"),
        (b"- '{{ .a }}'\n- 42\n", "item 2 is int"),
        (b"- '{{ .a }}'\n-\n", "item 2 is NoneType"),
        (b"- '{{ .a }}',\n- '{{ .b }}',\n", "not in the correct format"),  # the README's trailing commas
        (b"- [unclosed\n", "not in the correct format"),
    ],
)
def test_parse_hints_format_errors(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_hints(data, "bundle.tar: hints.yaml")
    assert str(info.value).startswith("bundle.tar: hints.yaml: ")


def test_parse_hints_template_error_names_source_and_item() -> None:
    with pytest.raises(InputError) as info:
        parse_hints(b"- '{{ .a }}/{{ .b }}'\n- 'nginx:1.0'\n", "x.bundle.tar: hints.yaml")
    assert str(info.value).startswith("x.bundle.tar: hints.yaml: item 2: failed to parse image template")
    assert "missing repo or a registry fragment" in str(info.value)


# --------------------------------------------------------------------------------------------------------
# Go %v formatting (spec §2.4)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (8.0, "8"),
        (8, "8"),
        (1.1, "1.1"),
        (20230101.0, "2.0230101e+07"),
        (123456.0, "123456"),
        (1000000.0, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-3.25, "-3.25"),
        (0.0, "0"),
        (1e21, "1e+21"),
        (0.1 + 0.2, "0.30000000000000004"),
        (float("inf"), "+Inf"),
        (True, "true"),
        (False, "false"),
        ("1.10", "1.10"),
        (None, "<nil>"),
        ({"b": 2.0, "a": None}, "map[a:<nil> b:2]"),
        (["x", 1.5, True], "[x 1.5 true]"),
    ],
)
def test_go_format(value: Any, text: str) -> None:
    assert go_format(value) == text


# --------------------------------------------------------------------------------------------------------
# Rendering (spec §2.4)


def _values(text: str) -> dict[str, Any]:
    return load_values(text.encode(), "values.yaml")


def test_render_basic_and_literal_text() -> None:
    context = _values("image:\n  registry: docker.io\n  repository: bitnami/nginx\n  tag: '1.25'\n")
    full = ImageTemplate.parse("{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}")
    assert render(full, context) == "docker.io/bitnami/nginx:1.25"
    literal = ImageTemplate.parse("quay.io/{{ .image.repository }}:{{ .image.tag }}-debian")
    assert render(literal, context) == "quay.io/bitnami/nginx:1.25-debian"


def test_render_missing_last_key_prints_no_value() -> None:
    context = _values("image:\n  repository: nginx\n  tag:\n")
    assert render(ImageTemplate.parse("{{ .image.repository }}:{{ .image.tag }}"), context) == "nginx:<no value>"
    assert render(ImageTemplate.parse("{{ .image.repo }}"), context) == "<no value>"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ("other: 1\n", "index of nil pointer"),  # .image missing
        ("image:\n", "index of nil pointer"),  # .image null
        ("image: nginx\n", "can't index item of type string"),
        ("image: 3\n", "can't index item of type float64"),
        ("image: [a]\n", "can't index item of type []interface {}"),
    ],
)
def test_render_walk_errors(values: str, reason: str) -> None:
    template = ImageTemplate.parse("{{ .image.repository }}:{{ .image.tag }}")
    with pytest.raises(InputError) as info:
        render(template, _values(values))
    message = str(info.value)
    assert message.startswith('failed to render image "{{ .image.repository }}:{{ .image.tag }}"')
    assert message.endswith(f"error calling index: {reason}")


def test_render_numbers_that_survive_formatting() -> None:
    context = _values("image:\n  repository: bitnami/shell\n  tag: 10\n  minor: 1.5\n")
    template = ImageTemplate.parse("{{ .image.repository }}:{{ .image.tag }}")
    assert render(template, context) == "bitnami/shell:10"
    assert render(ImageTemplate.parse("{{ .image.repository }}:{{ .image.minor }}"), context) == "bitnami/shell:1.5"


@pytest.mark.parametrize(
    ("tag", "go_text"),
    [("1.10", "1.1"), ("20230101", "2.0230101e+07"), ("1.0", "1"), ("010", "8"), ("1e3", "1000")],
)
def test_render_numbers_mangled_by_go_formatting(tag: str, go_text: str) -> None:
    context = _values(f"image:\n  repository: app\n  tag: {tag}\n")
    template = ImageTemplate.parse("{{ .image.repository }}:{{ .image.tag }}")
    with pytest.raises(InputError) as info:
        render(template, context)
    assert f".image.tag is the YAML number {tag}" in str(info.value)
    assert repr(go_text) in str(info.value)
    assert "quote it in values.yaml" in str(info.value)
    # charts-syncer's exact output, for callers that must reproduce it
    assert render(template, context, strict_numbers=False) == f"app:{go_text}"


def test_render_plain_python_numbers_only_refuse_exponent_form() -> None:
    template = ImageTemplate.parse("{{ .repo }}:{{ .tag }}")
    assert render(template, {"repo": "app", "tag": 8}) == "app:8"
    with pytest.raises(InputError, match=r"2\.0230101e"):
        render(template, {"repo": "app", "tag": 20230101})


def test_render_yaml_11_booleans_print_as_go_bools() -> None:
    context = _values("image:\n  repository: app\n  tag: yes\n")
    assert render(ImageTemplate.parse("{{ .image.repository }}:{{ .image.tag }}"), context) == "app:true"


# --------------------------------------------------------------------------------------------------------
# The real bitnami wordpress chart and its relok8s hints


def _image_ref(image: dict[str, Any]) -> str:
    return f"{image['registry']}/{image['repository']}:{image['tag']}"


@needs_wordpress
def test_wordpress_hints_render_from_real_chart() -> None:
    templates = parse_hints(WORDPRESS_HINTS.read_bytes(), WORDPRESS_HINTS.name)
    files = load_chart_archive(WORDPRESS_TGZ.read_bytes(), WORDPRESS_TGZ.name)
    context = build_values_context(files, source=WORDPRESS_TGZ.name)

    root = yaml.safe_load(files["values.yaml"])
    mariadb = yaml.safe_load(files["charts/mariadb/values.yaml"])
    memcached = yaml.safe_load(files["charts/memcached/values.yaml"])
    expected = [
        _image_ref(root["image"]),
        _image_ref(root["metrics"]["image"]),
        _image_ref(root["volumePermissions"]["image"]),
        _image_ref(mariadb["image"]),
        _image_ref(mariadb["metrics"]["image"]),
        _image_ref(mariadb["volumePermissions"]["image"]),
        _image_ref(memcached["image"]),
        _image_ref(memcached["metrics"]["image"]),
    ]
    assert [render(t, context) for t in templates] == expected
    assert expected[0] == f"docker.io/bitnami/wordpress:{root['image']['tag']}"
    assert expected[3].startswith("docker.io/bitnami/mariadb:")
    assert expected[6].startswith("docker.io/bitnami/memcached:")

    # every template is a registry/repository/tag triple
    assert all(t.registry and t.repository and t.tag and not t.digest for t in templates)
    # the root's mariadb section has no image: it comes from the subchart, merged under the parent's keys
    assert "image" not in root["mariadb"]
    assert context["mariadb"]["auth"]["database"] == root["mariadb"]["auth"]["database"]
    # quoted numeric tag stays a string
    assert root["volumePermissions"]["image"]["tag"] == "10"
    assert (
        render(templates[2], context) == f"docker.io/bitnami/bitnami-shell:{root['volumePermissions']['image']['tag']}"
    )
