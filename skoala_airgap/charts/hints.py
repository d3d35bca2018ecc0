"""relok8s image hints: parse ``hints.yaml``, classify each template, render it (spec §2.1, §2.2, §2.4).

A hint such as ``{{ .image.registry }}/{{ .image.repository }}:{{ .image.tag }}`` names the values that
make up one image reference. Classification says which value holds which part, so the rewrite step knows
which keys to edit; rendering evaluates the template over the chart's value context exactly as
charts-syncer's Go ``text/template`` + ``%v`` does, because the bundle's image names came from that.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from skoala_airgap.charts.values_context import KeyPath, YamlNumber
from skoala_airgap.charts.yaml_loader import first_document
from skoala_airgap.errors import InputError

__all__ = ["ImageTemplate", "KeyPath", "dotted", "go_format", "parse_hints", "render"]

# The regexes of relok8s ``internal/image_template.go``; ``\s`` spelled out as Go RE2's ASCII class.
_WS = r"[\t\n\f\r ]"
_TEMPLATE_RE = re.compile(rf"\{{\{{{_WS}*(.*?){_WS}*\}}\}}")
_TAG_RE = re.compile(rf":\{{\{{{_WS}*(.*?){_WS}*\}}\}}")
_DIGEST_RE = re.compile(rf"@\{{\{{{_WS}*(.*?){_WS}*\}}\}}")
_TAG_OR_DIGEST_RE = re.compile(r"[:|@]\{\{.*?\}\}")  # the '|' is relok8s's character-class slip, kept
_SEGMENT_RE = re.compile(r"[^\s.\"\\{}()|$]+")


def dotted(path: KeyPath) -> str:
    """``('image', 'tag')`` -> ``.image.tag``, the spelling used in hints and messages."""
    return "." + ".".join(path)


def _path(inner: str, raw: str) -> KeyPath:
    """Turn a placeholder's inner text into map keys, refusing what charts-syncer would garble.

    relok8s drops the first character blindly and splits on dots, so functions, pipes or a missing
    leading dot produce nonsense lookups; we reject them up front instead.
    """
    segments = inner[1:].split(".")
    if not inner.startswith(".") or not all(_SEGMENT_RE.fullmatch(s) for s in segments):
        raise InputError(
            f'failed to parse image template "{raw}": unsupported placeholder {{{{ {inner} }}}}: '
            "only value paths such as .image.tag are supported"
        )
    return tuple(segments)


@dataclass(frozen=True)
class ImageTemplate:
    """One classified hint.

    ``literals`` and ``placeholders`` interleave to give the template back: ``literals[0]``, value of
    ``placeholders[0]``, ``literals[1]``, ... Exactly one of ``registry_and_repository`` or the
    ``registry``/``repository`` pair is set; ``tag`` and ``digest`` are optional.
    """

    raw: str
    literals: tuple[str, ...]
    placeholders: tuple[KeyPath, ...]
    registry: KeyPath | None = None
    repository: KeyPath | None = None
    registry_and_repository: KeyPath | None = None
    tag: KeyPath | None = None
    digest: KeyPath | None = None

    @classmethod
    def parse(cls, raw: str) -> ImageTemplate:
        """Classify ``raw`` like relok8s ``NewFromString``; errors carry its messages."""
        literals: list[str] = []
        placeholders: list[KeyPath] = []
        start = 0
        for match in _TEMPLATE_RE.finditer(raw):
            literals.append(raw[start : match.start()])
            placeholders.append(_path(match.group(1), raw))
            start = match.end()
        literals.append(raw[start:])
        if any("{{" in literal for literal in literals):
            raise InputError(f'failed to parse image template "{raw}": unclosed action')

        def single(regex: re.Pattern[str], what: str) -> KeyPath | None:
            found = regex.findall(raw)
            if len(found) > 1:
                raise InputError(f'failed to parse image template "{raw}": too many {what} template matches')
            return _path(found[0], raw) if found else None

        tag = single(_TAG_RE, "tag")
        digest = single(_DIGEST_RE, "digest")
        rest = [_path(inner, raw) for inner in _TEMPLATE_RE.findall(_TAG_OR_DIGEST_RE.sub("", raw))]
        if not rest:
            raise InputError(f'failed to parse image template "{raw}": missing repo or a registry fragment')
        if len(rest) > 2:
            raise InputError(f'failed to parse image template "{raw}": more fragments than expected')
        combined = rest[0] if len(rest) == 1 else None
        registry, repository = (rest[0], rest[1]) if len(rest) == 2 else (None, None)
        return cls(raw, tuple(literals), tuple(placeholders), registry, repository, combined, tag, digest)


def parse_hints(data: bytes, source: str) -> list[ImageTemplate]:
    """Parse a hints file (a YAML list of template strings) in file order, duplicates kept.

    A leading ``---`` and comments are fine and an empty file gives ``[]``; anything else that is not a
    list of strings, or a template relok8s would refuse, is an :class:`InputError` naming ``source``.
    """
    try:
        document = first_document(data)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: image pattern file is not in the correct format: {exc}") from exc
    if document is None:
        return []
    if not isinstance(document, list):
        raise InputError(
            f"{source}: image pattern file is not in the correct format: "
            f"expected a list of strings, found {type(document).__name__}"
        )
    templates: list[ImageTemplate] = []
    for number, item in enumerate(document, start=1):
        if not isinstance(item, str):
            raise InputError(
                f"{source}: image pattern file is not in the correct format: "
                f"item {number} is {type(item).__name__}, not a string (quote the template)"
            )
        try:
            templates.append(ImageTemplate.parse(item))
        except InputError as exc:
            raise InputError(f"{source}: item {number}: {exc}") from exc
    return templates


# ---------------------------------------------------------------------------------------------------------
# Rendering


def _go_float(value: float) -> str:
    """Go ``%v`` of a float64, i.e. ``strconv.FormatFloat(v, 'g', -1, 64)``.

    Shortest round-trip digits; exponent form when the decimal exponent is < -4 or >= 6 (shortest mode
    decides with precision 6, unlike JSON's 21), so ``20230101`` prints ``2.0230101e+07``.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    shortest = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, shortest.digits)).rstrip("0")
    exponent = int(shortest.exponent) + (len(shortest.digits) - len(digits))
    point = len(digits) + exponent  # position of the decimal point relative to the digit string
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exp = point - 1
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_format(value: Any) -> str:
    """Go ``fmt`` ``%v`` of a decoded values.yaml value (nested nil prints ``<nil>``)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_float(float(value))
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    return str(value)


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "float64"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    return "string" if isinstance(value, str) else type(value).__name__


def _lookup(template: ImageTemplate, path: KeyPath, context: Mapping[str, Any]) -> Any:
    """``index . "a" "b"`` over the context: a missing last key is nil, a nil or scalar on the way fails."""
    item: Any = context
    for key in path:
        if item is None:
            reason = "index of nil pointer"
        elif not isinstance(item, Mapping):
            reason = f"can't index item of type {_go_type(item)}"
        else:
            item = item.get(key)
            continue
        raise InputError(
            f'failed to render image "{template.raw}": at {{{{ {dotted(path)} }}}}: error calling index: {reason}'
        )
    return item


def _check_number(template: ImageTemplate, path: KeyPath, value: float, text: str) -> None:
    """Refuse numbers whose Go formatting is not what the chart author wrote (spec §2.4 [Q])."""
    source = value.source if isinstance(value, YamlNumber) else None
    if "e" in text or "Inf" in text or "NaN" in text or (source is not None and source != text):
        written = f"the YAML number {source}" if source is not None else f"the number {text}"
        raise InputError(
            f'failed to render image "{template.raw}": {dotted(path)} is {written}, which Helm and '
            f'charts-syncer print as {text!r}; quote it in values.yaml (e.g. "{source or text}")'
        )


def render(template: ImageTemplate, context: Mapping[str, Any], *, strict_numbers: bool = True) -> str:
    """Render the hint over a value context as charts-syncer does (``text/template`` with ``%v``).

    A missing last key renders ``<no value>`` (the reference parser then rejects it); a missing or null
    intermediate key, or walking through a scalar, is an :class:`InputError`. Numbers print as Go
    float64s. With ``strict_numbers`` (the default) a number whose printed form differs from its YAML
    text (``1.10`` -> ``1.1``, ``010`` -> ``8``) or uses exponent form (``20230101`` ->
    ``2.0230101e+07``) is refused with advice to quote it; pass ``False`` to reproduce charts-syncer.
    """
    out = [template.literals[0]]
    for path, literal in zip(template.placeholders, template.literals[1:], strict=True):
        value = _lookup(template, path, context)
        if value is None:
            text = "<no value>"
        else:
            text = go_format(value)
            if strict_numbers and isinstance(value, int | float) and not isinstance(value, bool):
                _check_number(template, path, value, text)
        out.append(text)
        out.append(literal)
    return "".join(out)
