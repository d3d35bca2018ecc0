"""The libyaml-based loader reads chart YAML exactly as PyYAML's pure-Python loader did.

``charts/yaml_loader.py`` switched every chart reader to libyaml for start-up speed (issue 14); these
tests hold the two parsers to the same Python objects on the project's charts, the real bitnami chart
and the yaml.v2 corner cases, so the speed-up cannot change what Helm-compatible values mean.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.charts import skoala_chart, skoala_init_chart
from skoala_airgap.charts import values_context
from skoala_airgap.charts.hints import parse_hints
from skoala_airgap.charts.yaml_loader import SafeLoader, first_document

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
CORNERS = [
    b"a: 8\nb: 1.10\nc: y\nd: 1e3\ne: 010\nf: 2023-01-01\ng: '10'\nh:\ni: 1:30\nj: !custom x\n",
    b"base: &b {x: 1, y: [1, 2]}\nderived:\n  <<: *b\n  y: .inf\n",
    b"k: 0x1F\nl: -0b101\nm: +12_000\nn: .5\no: 'yes'\np: \"\\u00e9\"\nq: |\n  two\n  lines\n",
    b"---\nfirst: 1\n---\nsecond: 2\n",
]


class _PurePythonHelmLoader(yaml.SafeLoader):
    """The same resolvers and constructors as the production loader, on PyYAML's Python parser."""

    yaml_implicit_resolvers = dict(values_context._HelmLoader.yaml_implicit_resolvers)  # noqa: RUF012
    yaml_constructors = dict(values_context._HelmLoader.yaml_constructors)  # noqa: RUF012


def _pure_python_values(data: bytes) -> Any:
    loader = _PurePythonHelmLoader(data.decode())
    try:
        document = loader.get_data() if loader.check_data() else None  # type: ignore[no-untyped-call]
    finally:
        loader.dispose()
    return values_context._jsonable(document) if document is not None else {}


def _yaml_files() -> list[tuple[str, bytes]]:
    files = [(f"corner{i}", data) for i, data in enumerate(CORNERS)]
    for chart in (skoala_chart(), skoala_init_chart()):
        files += [(name, data) for name, data in chart.items() if name.endswith(("values.yaml", "Chart.yaml"))]
    return files


def test_libyaml_is_used_when_pyyaml_has_it() -> None:
    assert yaml.__with_libyaml__, "PyYAML without libyaml: charts are parsed by the slow pure-Python scanner"
    assert SafeLoader is yaml.CSafeLoader
    assert issubclass(values_context._HelmLoader, yaml.CSafeLoader)


@pytest.mark.parametrize(("name", "data"), _yaml_files(), ids=lambda v: v if isinstance(v, str) else "")
def test_values_load_as_with_the_python_parser(name: str, data: bytes) -> None:
    assert values_context.load_values(data, name) == _pure_python_values(data)


def test_hints_and_chart_yaml_load_as_with_the_python_parser() -> None:
    data = b"# images\n---\n- '{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}'\n---\n: bad\n"
    assert [t.raw for t in parse_hints(data, "hints.yaml")] == next(yaml.safe_load_all(data))
    for chart in (skoala_chart(), skoala_init_chart()):
        hint_files = [data for name, data in chart.items() if name.endswith(".relok8s-images.yaml")]
        assert hint_files
        for hints in [*hint_files, chart["Chart.yaml"]]:
            assert first_document(hints) == yaml.safe_load(hints)


@pytest.mark.skipif(not (REAL / "wordpress-11.0.4.tgz").is_file(), reason="shared/fixtures/real not available")
def test_real_bitnami_chart_loads_as_with_the_python_parser() -> None:
    with tarfile.open(REAL / "wordpress-11.0.4.tgz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(("values.yaml", "Chart.yaml"))]
        assert members
        for member in members:
            extracted = tar.extractfile(member)
            assert extracted is not None
            data = extracted.read()
            assert values_context.load_values(data, member.name) == _pure_python_values(data), member.name
