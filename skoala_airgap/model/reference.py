"""Image references, parsed and normalised the way go-containerregistry ``pkg/name`` does it.

charts-syncer compares images by their *fully-qualified name* (registry, repository string with
``library/`` for Docker Hub, then ``:tag`` or ``@digest``), so every part of skoala-airgap that matches
or rewrites images goes through :func:`parse_reference` to get the same answer (spec §2.5).

Deliberate differences from go-containerregistry, all of them stricter, and all about names that a
registry would refuse at push time anyway:

- each repository path component must follow the distribution grammar
  (``[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*``), so ``a//b``, ``-a`` or ``a..b`` are rejected early;
- a tag must start with ``[A-Za-z0-9_]``;
- a registry must be ``host[:port]`` with a numeric, non-empty port (ggcr accepts any RFC 3986 authority).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from skoala_airgap.model.digest import Digest

DOCKER_HUB: Final = "index.docker.io"
"""The normalised Docker Hub registry. ggcr spells it this way and so do relocated paths (§3.7)."""

DOCKER_HUB_ALIAS: Final = "docker.io"
DEFAULT_NAMESPACE: Final = "library"

_REPOSITORY_CHARS = re.compile(r"[a-z0-9_./-]*")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG_CHARS = re.compile(r"[A-Za-z0-9_.-]*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_REGISTRY = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?")


class _Unset:
    """Marks an argument of :meth:`Reference.with_` that was not given (``None`` is a real value)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Final = _Unset()


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed image reference.

    ``registry`` and ``repository`` are already normalised (``index.docker.io``, ``library/nginx``).
    A digest reference may still carry the tag it was written with (``repo:tag@sha256:…``): the tag is
    kept in ``tag`` for display and push decisions, but it is not part of :attr:`name`.
    """

    registry: str
    repository: str
    tag: str | None
    digest: str | None
    original: str

    def __post_init__(self) -> None:
        if self.tag is None and self.digest is None:
            raise ValueError(f"image reference {self.original!r} has neither a tag nor a digest")

    @property
    def is_digest(self) -> bool:
        """True for ``…@sha256:…`` references; ggcr then ignores any tag for identity."""
        return self.digest is not None

    @property
    def context(self) -> str:
        """``registry/repository``: the repository an image is pushed to or pulled from."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """The digest for digest references, otherwise the tag (ggcr ``Identifier()``)."""
        if self.digest is not None:
            return self.digest
        assert self.tag is not None  # guaranteed by __post_init__
        return self.tag

    @property
    def name(self) -> str:
        """The fully-qualified name, the value charts-syncer compares everywhere (§2.5)."""
        if self.digest is not None:
            return f"{self.context}@{self.digest}"
        return f"{self.context}:{self.identifier}"

    @property
    def familiar(self) -> str:
        """Short display form in the Docker CLI's style: ``nginx:1.25``, ``bitnami/redis:7``.

        Only for display: it drops the Docker Hub registry and the ``library/`` namespace, so it is not
        a value to compare.
        """
        if self.registry == DOCKER_HUB:
            repo = self.repository
            rest = repo.removeprefix(f"{DEFAULT_NAMESPACE}/")
            head = rest if rest != repo and "/" not in rest else repo
        else:
            head = self.context
        if self.tag is not None:
            head = f"{head}:{self.tag}"
        if self.digest is not None:
            head = f"{head}@{self.digest}"
        return head

    def docker_hub_short(self) -> str:
        """Alias of :attr:`familiar`, for callers that prefer a method."""
        return self.familiar

    def with_(
        self,
        *,
        registry: str | _Unset = _UNSET,
        repository: str | _Unset = _UNSET,
        tag: str | _Unset | None = _UNSET,
        digest: str | _Unset | None = _UNSET,
    ) -> Reference:
        """Return a copy with some parts replaced, validated and normalised like a parsed reference.

        ``registry`` must be a bare ``host[:port]``. Passing ``tag=None`` or ``digest=None`` removes
        that part. ``original`` of the result is its new :attr:`name`.
        """
        new_registry = self.registry if isinstance(registry, _Unset) else registry
        new_repository = self.repository if isinstance(repository, _Unset) else repository
        new_tag = self.tag if isinstance(tag, _Unset) else tag
        new_digest = self.digest if isinstance(digest, _Unset) else digest
        label = f"{new_registry}/{new_repository}"
        reg = _check_registry(new_registry, label) if new_registry else DOCKER_HUB
        repo = _check_repository(new_repository, label)
        if reg == DOCKER_HUB and "/" not in repo:
            repo = f"{DEFAULT_NAMESPACE}/{repo}"
        if new_tag is not None:
            _check_tag(new_tag, label)
        if new_digest is not None and not Digest.is_valid(new_digest):
            raise ValueError(f"invalid image reference {label!r}: digest must be sha256:<64 hex>")
        if new_tag is None and new_digest is None:
            raise ValueError(f"invalid image reference {label!r}: it needs a tag or a digest")
        ident = f"@{new_digest}" if new_digest is not None else f":{new_tag}"
        return Reference(reg, repo, new_tag, new_digest, original=f"{reg}/{repo}{ident}")

    def __str__(self) -> str:
        return self.name


def parse_reference(text: str, *, default_tag: str = "latest", strict: bool = False) -> Reference:
    """Parse an image reference as ggcr ``name.ParseReference`` does (tag form first, then digest).

    ``strict`` mirrors ggcr's ``StrictValidation``: the registry, the tag (for tag references) and the
    ``library/`` namespace must all be spelled out. Raises :class:`ValueError` naming the input and the
    broken rule.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("invalid image reference '': it is empty")
    if "@" in text:
        return _parse_digest_reference(text, strict=strict)
    base, tag = _split_tag(text)
    if tag is not None:
        _check_tag(tag, text)
    elif strict:
        raise ValueError(f"invalid image reference {text!r}: strict validation requires an explicit tag")
    registry, repository = _parse_repository(base, text, strict=strict)
    return Reference(registry, repository, tag if tag is not None else default_tag, None, text)


def same_image_name(a: str, b: str) -> bool:
    """True when both strings name the same image after normalisation.

    Used to match ``docker save`` RepoTags (``nginx:1.25``) against hint names
    (``docker.io/library/nginx:1.25``). An unparsable side never matches.
    """
    try:
        return parse_reference(a).name == parse_reference(b).name
    except ValueError:
        return False


def _parse_digest_reference(text: str, *, strict: bool) -> Reference:
    parts = text.split("@")
    if len(parts) != 2:
        raise ValueError(f"invalid image reference {text!r}: a digest reference needs exactly one '@'")
    base, digest = parts
    if not Digest.is_valid(digest):
        raise ValueError(f"invalid image reference {text!r}: digest must be sha256:<64 lowercase hex>")
    # ggcr parses the part before '@' as a tag reference and keeps only its repository; a tag there
    # is optional even in strict mode.
    name, tag = _split_tag(base)
    if tag is not None:
        _check_tag(tag, text)
    registry, repository = _parse_repository(name, text, strict=strict)
    return Reference(registry, repository, tag, digest, text)


def _split_tag(text: str) -> tuple[str, str | None]:
    """Split off ``:tag`` unless the last ``:`` belongs to a ``host:port`` (the text after it has ``/``).

    An empty tag (``nginx:``) yields ``None``, which ggcr (non-strict) treats as the default tag.
    """
    head, sep, tail = text.rpartition(":")
    if not sep or "/" in tail:
        return text, None
    return head, tail or None


def _parse_repository(text: str, original: str, *, strict: bool) -> tuple[str, str]:
    """Split ``[registry/]repository`` and normalise both (§2.5)."""
    if not text:
        raise ValueError(f"invalid image reference {original!r}: a repository name must be specified")
    first, slash, rest = text.partition("/")
    if slash and ("." in first or ":" in first):
        registry, repository = _check_registry(first, original), rest
    else:
        if strict:
            raise ValueError(f"invalid image reference {original!r}: strict validation requires an explicit registry")
        registry, repository = DOCKER_HUB, text
    _check_repository(repository, original)
    if registry == DOCKER_HUB and "/" not in repository:
        if strict:
            raise ValueError(
                f"invalid image reference {original!r}: strict validation requires the full repository "
                f"path (missing '{DEFAULT_NAMESPACE}/')"
            )
        repository = f"{DEFAULT_NAMESPACE}/{repository}"
    return registry, repository


def _check_registry(registry: str, original: str) -> str:
    if not _REGISTRY.fullmatch(registry):
        raise ValueError(f"invalid image reference {original!r}: registry {registry!r} is not a valid host[:port]")
    return DOCKER_HUB if registry == DOCKER_HUB_ALIAS else registry


def _check_repository(repository: str, original: str) -> str:
    if not _REPOSITORY_CHARS.fullmatch(repository):
        raise ValueError(
            f"invalid image reference {original!r}: repository {repository!r} may only contain "
            "lowercase letters, digits and '_', '-', '.', '/'"
        )
    if not 2 <= len(repository) <= 255:
        raise ValueError(
            f"invalid image reference {original!r}: repository {repository!r} must be 2 to 255 characters long"
        )
    for component in repository.split("/"):
        if not _COMPONENT.fullmatch(component):
            raise ValueError(
                f"invalid image reference {original!r}: repository path component {component!r} must "
                "be lowercase alphanumerics separated by '.', '_', '__' or '-'"
            )
    return repository


def _check_tag(tag: str, original: str) -> None:
    if not _TAG_CHARS.fullmatch(tag):
        raise ValueError(
            f"invalid image reference {original!r}: tag {tag!r} may only contain letters, digits and '_', '.', '-'"
        )
    if not _TAG.fullmatch(tag):
        raise ValueError(
            f"invalid image reference {original!r}: tag {tag!r} must be 1 to 128 characters and "
            "not start with '.' or '-'"
        )
