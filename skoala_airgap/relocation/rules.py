"""Where an image goes: charts-syncer's rewrite rules (spec §2.6) and push target (§2.8), as pure functions.

The image push engine and the chart rewrite both call :func:`relocate`, so the name an image is pushed
under and the name written into ``values.yaml`` cannot drift apart.

The flow for one hint, as charts-syncer runs it::

    ref = parse_reference(rendered_original)              # §2.4/§2.5
    rel = relocate(ref, rules)                            # §2.6 steps 1-3, 5
    actions = rewrite_actions(rel, combined=..., has_registry=..., has_repository=...,
                              pinned_digest=D if the template has no tag/digest fragment else None)
    rewritten = <re-render the template with actions merged into the values>   # §2.8
    if needs_push(ref, rewritten): push to push_target(rewritten, ref)

The push target comes from the *re-rendered* reference, not from ``REG/REPO``: a fragment that no action
touches keeps its literal value (``repository: nginx`` rather than ``library/nginx``), and that literal is
what the chart will ask for. :func:`render_rewritten` does that re-render for templates made only of
placeholders; :attr:`Relocation.target_name` is the plain ``REG/REPO`` form for callers without a template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from skoala_airgap.model.digest import Digest
from skoala_airgap.model.reference import Reference, parse_reference

Role = Literal["combined", "registry", "repository"]
"""Which template fragment a rewrite action writes to (§2.2): the combined ``registry/repository``
placeholder, the registry placeholder, or the repository placeholder."""

_CONFIG_KEYS: dict[str, tuple[str, str]] = {
    "registry": ("containerRegistry", "container_registry"),
    "prefix_registry": ("containerPrefixRegistry", "container_prefix_registry"),
    "repository": ("containerRepository", "container_repository"),
    "prefix_repository": ("containerPrefixRepository", "container_prefix_repository"),
    "append_origin_registry": ("appendOriginRegistry", "append_origin_registry"),
}


class TargetSettings(Protocol):
    """The rule fields of a loaded config target (``skoala_airgap.config.model.Target`` has them)."""

    @property
    def container_registry(self) -> str: ...
    @property
    def container_prefix_registry(self) -> str: ...
    @property
    def container_repository(self) -> str: ...
    @property
    def container_prefix_repository(self) -> str: ...
    @property
    def append_origin_registry(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class RewriteRules:
    """The five target settings that decide where images go (charts-syncer ``OCIImageLocation``).

    Values are used verbatim, as charts-syncer does: no trimming of slashes, no ``docker.io`` spelling
    fix. A bad value surfaces as an invalid target reference.
    """

    registry: str = ""
    prefix_registry: str = ""
    repository: str = ""
    prefix_repository: str = ""
    append_origin_registry: bool = False

    @property
    def is_empty(self) -> bool:
        """True when no rule that moves images is set.

        charts-syncer's ``validateTarget`` refuses this unless images are skipped ("at least one rewrite
        rule is required"). ``append_origin_registry`` does not count: alone it changes nothing.
        """
        return not (self.registry or self.prefix_registry or self.repository or self.prefix_repository)

    @classmethod
    def from_config(cls, target: Mapping[str, object]) -> RewriteRules:
        """Build the rules from a config ``target`` mapping.

        Reads ``containerRegistry``, ``containerPrefixRegistry``, ``containerRepository``,
        ``containerPrefixRepository`` and ``appendOriginRegistry``; the snake_case proto names are
        accepted too, as the protobuf decoder does (§3.1). Other keys are ignored, ``null`` means unset.
        """
        found: dict[str, object] = {}
        for field_name, (camel, snake) in _CONFIG_KEYS.items():
            given = [key for key in (camel, snake) if target.get(key) is not None]
            if len(given) == 2 and target[camel] != target[snake]:
                raise ValueError(f"target sets both {camel!r} and {snake!r} with different values")
            if given:
                found[field_name] = target[given[0]]
        strings: dict[str, str] = {}
        for field_name in ("registry", "prefix_registry", "repository", "prefix_repository"):
            value = found.get(field_name, "")
            if not isinstance(value, str):
                raise ValueError(f"target.{_CONFIG_KEYS[field_name][0]} must be a string, got {value!r}")
            strings[field_name] = value
        append = found.get("append_origin_registry", False)
        if not isinstance(append, bool):
            raise ValueError(f"target.appendOriginRegistry must be true or false, got {append!r}")
        return cls(append_origin_registry=append, **strings)

    @classmethod
    def from_target(cls, target: TargetSettings) -> RewriteRules:
        """Build the rules from an already loaded and validated config target."""
        return cls(
            registry=target.container_registry,
            prefix_registry=target.container_prefix_registry,
            repository=target.container_repository,
            prefix_repository=target.container_prefix_repository,
            append_origin_registry=target.append_origin_registry,
        )


@dataclass(frozen=True, slots=True)
class Relocation:
    """The result of applying :class:`RewriteRules` to one source image (§2.6 steps 1-3 and 5).

    ``registry`` (REG) may contain a slash (``harbor.example.com/docker.m.daocloud.io``) when
    ``appendOriginRegistry`` is on; that is the value written to a chart's registry field.
    ``repository`` (REPO) never carries the step-4 digest pin; :func:`rewrite_actions` adds it.
    """

    source: Reference
    registry: str
    repository: str
    registry_changed: bool
    repository_changed: bool
    digest: str | None = None

    @property
    def context(self) -> str:
        """``REG/REPO``: the combined value, and the push repository when no template is involved."""
        return f"{self.registry}/{self.repository}"

    def pinned_repository(self, digest: str) -> str:
        """REPO with the step-4 pin ``@<digest>``, as written for templates without tag or digest."""
        return f"{self.repository}@{digest}"

    @property
    def target_name(self) -> str:
        """``REG/REPO:<source tag>``, or ``REG/REPO@<source digest>`` for a digest source (§2.8).

        This is the push target when the chart values hold the normalised names. For chart images
        prefer :func:`push_target` on the re-rendered reference; see the module docstring.
        """
        if self.source.is_digest:
            return f"{self.context}@{self.source.digest}"
        return f"{self.context}:{self.source.tag}"

    @property
    def target(self) -> Reference:
        """:attr:`target_name` parsed. Raises :class:`ValueError` when the rules build an invalid name,
        e.g. a prefix registry in front of an origin registry with a port (``…/127.0.0.1:5000/…``)."""
        return parse_reference(self.target_name)

    @property
    def target_host(self) -> str:
        """The registry host the push talks HTTP to.

        When REG contains a slash its first segment is the host and the rest belongs to the repository
        path. This is read from the parsed target, so it follows §2.5 exactly: a first segment without
        ``.`` or ``:`` means Docker Hub.
        """
        return self.target.registry

    @property
    def target_repository_path(self) -> str:
        """The repository path on :attr:`target_host`, e.g. ``docker.m.daocloud.io/skoala/hive``."""
        return self.target.repository


def relocate(ref: Reference, rules: RewriteRules, digest: str | None = None) -> Relocation:
    """Compute REG and REPO for ``ref`` under ``rules``, exactly as charts-syncer HEAD does (§2.6).

    ``digest`` is the image's content digest (D, §1.5). It is only carried along for the step-4 pin and
    tagless pushes; it does not change REG or REPO.
    """
    if digest is not None and not Digest.is_valid(digest):
        raise ValueError(f"image digest must be sha256:<64 hex>, got {digest!r}")
    r0, p0 = ref.registry, ref.repository
    append = rules.append_origin_registry

    # Step 1: the first rule that applies wins. appendOriginRegistry only matters with a prefix registry.
    if rules.prefix_registry and append:
        reg = f"{rules.prefix_registry}/{r0}"
    elif rules.prefix_registry:
        reg = rules.prefix_registry
    elif rules.registry:
        reg = rules.registry
    else:
        reg = r0

    # Step 2: the first case that applies wins (case 2 of the Go switch is unreachable).
    if append and rules.prefix_registry:
        repo = p0  # the origin registry went into REG; prefix_repository is ignored [Q]
    elif append and rules.prefix_repository:
        repo = f"{rules.prefix_repository}/{p0}"
    elif rules.prefix_repository and rules.prefix_registry:
        repo = f"{r0}/{rules.prefix_repository}/{p0}"  # origin registry first: R0/PP/P0
    elif rules.prefix_repository:
        repo = f"{rules.prefix_repository}/{p0}"
    elif rules.prefix_registry:
        repo = f"{r0}/{p0}"
    else:
        repo = p0

    # Step 3: containerRepository overrides step 2 and flattens the path to its last segment [Q].
    if rules.repository:
        repo = f"{rules.repository}/{p0.rsplit('/', 1)[-1]}"

    return Relocation(
        source=ref,
        registry=reg,
        repository=repo,
        registry_changed=reg != r0,
        repository_changed=repo != p0,
        digest=digest,
    )


def rewrite_actions(
    rel: Relocation,
    *,
    combined: bool,
    has_registry: bool,
    has_repository: bool,
    pinned_digest: str | None,
) -> list[tuple[Role, str]]:
    """The values to write back for one hint (§2.6 steps 4-6), as ``(role, value)`` pairs.

    ``combined`` says the template has a single registry+repository placeholder; otherwise
    ``has_registry``/``has_repository`` say which separate placeholders exist. ``pinned_digest`` must be
    the image digest D when the template has *neither* a tag nor a digest fragment (step 4: REPO gets
    ``@D``, which always counts as a repository change), and ``None`` otherwise.

    Order matches charts-syncer: registry before repository. Tag and digest values are never written.
    The caller maps each role to the placeholder's dotted path.
    """
    if combined and (has_registry or has_repository):
        raise ValueError("a template has either a combined fragment or registry/repository fragments")
    repo = rel.repository
    if pinned_digest is not None:
        if not Digest.is_valid(pinned_digest):
            raise ValueError(f"pinned digest must be sha256:<64 hex>, got {pinned_digest!r}")
        repo = rel.pinned_repository(pinned_digest)
    registry_changed = rel.registry_changed
    repository_changed = repo != rel.source.repository

    if combined:
        if registry_changed or repository_changed:
            return [("combined", f"{rel.registry}/{repo}")]
        return []
    actions: list[tuple[Role, str]] = []
    if has_registry and registry_changed:
        actions.append(("registry", rel.registry))
    if has_repository and repository_changed:
        actions.append(("repository", repo))
    return actions


def render_rewritten(
    actions: Sequence[tuple[str, str]],
    *,
    combined: str | None = None,
    registry: str | None = None,
    repository: str | None = None,
    tag: str | None = None,
    digest: str | None = None,
) -> Reference:
    """Re-render a placeholder-only template with the actions applied, and parse it (§2.8).

    Models the templates ``{{reg}}/{{repo}}``, ``{{combined}}``, each optionally followed by
    ``:{{tag}}`` and/or ``@{{digest}}``. The keyword arguments are the fragments' current values as
    rendered from the chart; a fragment with an action takes the action's value instead. Templates with
    literal text must be rendered by the hints code itself.
    """
    values: dict[str, str | None] = {"combined": combined, "registry": registry, "repository": repository}
    for role, value in actions:
        if role not in values or values[role] is None:
            raise ValueError(f"rewrite action for {role!r} but the template has no such fragment")
        values[role] = value
    if combined is not None:
        if registry is not None or repository is not None:
            raise ValueError("a template has either a combined fragment or registry/repository fragments")
        text = values["combined"] or ""
    elif registry is not None and repository is not None:
        text = f"{values['registry']}/{values['repository']}"
    else:
        raise ValueError("a template needs a combined fragment or both registry and repository fragments")
    if tag is not None:
        text = f"{text}:{tag}"
    if digest is not None:
        text = f"{text}@{digest}"
    return parse_reference(text)


def needs_push(original: Reference, rewritten: Reference) -> bool:
    """charts-syncer pushes an image only when the rewritten name differs from the original (§2.8)."""
    return rewritten.name != original.name


def push_target(rewritten: Reference, original: Reference) -> str:
    """The reference an image is pushed to (§2.8).

    When the original was a tag reference, the push goes to the *rewritten* repository with the
    *original* tag, even if the rewritten values pin ``@digest`` (tagless templates). For a digest
    original there is no tag to keep, so the push goes to the rewritten reference itself, by digest.
    """
    if not original.is_digest:
        return f"{rewritten.context}:{original.tag}"
    return rewritten.name
