"""Relocation rules and push targets, row by row from the worked examples in spec §3.7 (and §2.6, §2.8)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from skoala_airgap.model.reference import parse_reference
from skoala_airgap.relocation.rules import (
    Relocation,
    RewriteRules,
    needs_push,
    push_target,
    relocate,
    render_rewritten,
    rewrite_actions,
)

HARBOR = "harbor.example.com"
DC = "sha256:" + "1" * 64  # the digest written in image C's values
IMG = "sha256:" + "f" * 64  # the image digest D from images.tar (§1.5)


@dataclass(frozen=True)
class Image:
    """One hint's fragment values as rendered from values.yaml; ``None`` means no such fragment."""

    combined: str | None = None
    registry: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None

    def render(self) -> str:
        head = self.combined if self.combined is not None else f"{self.registry}/{self.repository}"
        tail = (f":{self.tag}" if self.tag is not None else "") + (f"@{self.digest}" if self.digest is not None else "")
        return head + tail


# The four images of §3.7, plus variants.
A = Image(registry="docker.m.daocloud.io", repository="skoala/hive", tag="v0.28.1")
B = Image(combined="skoala/hive", tag="v0.28.1")
C = Image(registry="docker.m.daocloud.io", repository="skoala/hive", digest=DC)
D = Image(registry="docker.io", repository="library/nginx", tag="1.25")
D_SHORT = Image(registry="docker.io", repository="nginx", tag="1.25")  # `repository: nginx` in values
A_TAGLESS = Image(registry="docker.m.daocloud.io", repository="skoala/hive")  # step 4 pins @D
B_TAGLESS = Image(combined="skoala/hive")

# The rule sets of §3.7.
RULES_A = RewriteRules(registry=HARBOR, repository="dce/images")
REGISTRY_ONLY = RewriteRules(registry=HARBOR)
RULES_B = RewriteRules(prefix_registry=HARBOR)
RULES_C = RewriteRules(prefix_registry=HARBOR, prefix_repository="dce")
REGISTRY_AND_PREFIX_REPO = RewriteRules(registry=HARBOR, prefix_repository="dce")
PREFIX_REPO_ONLY = RewriteRules(prefix_repository="dce")
RULES_D = RewriteRules(prefix_registry=HARBOR, append_origin_registry=True)
RULES_D_PREFIX_REPO = replace(RULES_D, prefix_repository="dce")
RULES_D_REPOSITORY = replace(RULES_D, repository="dce/images")
APPEND_ONLY = RewriteRules(append_origin_registry=True)
APPEND_AND_REGISTRY = RewriteRules(registry=HARBOR, append_origin_registry=True)
APPEND_AND_PREFIX_REPO = RewriteRules(prefix_repository="dce", append_origin_registry=True)

Actions = list[tuple[str, str]]

H_DAO = "harbor.example.com/docker.m.daocloud.io"  # REG with appendOriginRegistry
H_HUB = "harbor.example.com/index.docker.io"

# One row per §3.7 table line or variant: id, image, rules, then the values-side actions (role, value)
# and the reference the image is pushed as (None: rewritten name equals the original, no push).
# fmt: off
TABLE: list[tuple[str, Image, RewriteRules, Actions, str | None]] = [
    # (a) containerRegistry + containerRepository
    ("a-A", A, RULES_A, [("registry", HARBOR), ("repository", "dce/images/hive")],
        f"{HARBOR}/dce/images/hive:v0.28.1"),
    ("a-B", B, RULES_A, [("combined", f"{HARBOR}/dce/images/hive")],
        f"{HARBOR}/dce/images/hive:v0.28.1"),
    ("a-C", C, RULES_A, [("registry", HARBOR), ("repository", "dce/images/hive")],
        f"{HARBOR}/dce/images/hive@{DC}"),
    ("a-D", D, RULES_A, [("registry", HARBOR), ("repository", "dce/images/nginx")],
        f"{HARBOR}/dce/images/nginx:1.25"),
    ("a-D-short", D_SHORT, RULES_A, [("registry", HARBOR), ("repository", "dce/images/nginx")],
        f"{HARBOR}/dce/images/nginx:1.25"),
    # (a) variant: containerRegistry alone edits only the registry.
    ("a-registry-only-A", A, REGISTRY_ONLY, [("registry", HARBOR)],
        f"{HARBOR}/skoala/hive:v0.28.1"),
    ("a-registry-only-B", B, REGISTRY_ONLY, [("combined", f"{HARBOR}/skoala/hive")],
        f"{HARBOR}/skoala/hive:v0.28.1"),
    ("a-registry-only-D", D, REGISTRY_ONLY, [("registry", HARBOR)],
        f"{HARBOR}/library/nginx:1.25"),
    # P0 is library/nginx, so `repository: nginx` counts as unchanged and stays nginx: the chart asks
    # for harbor.example.com/nginx, and that is where the image goes.
    ("a-registry-only-D-short", D_SHORT, REGISTRY_ONLY, [("registry", HARBOR)],
        f"{HARBOR}/nginx:1.25"),
    # (b) containerPrefixRegistry only; the origin segment is index.docker.io, never docker.io.
    ("b-A", A, RULES_B, [("registry", HARBOR), ("repository", "docker.m.daocloud.io/skoala/hive")],
        f"{H_DAO}/skoala/hive:v0.28.1"),
    ("b-B", B, RULES_B, [("combined", f"{H_HUB}/skoala/hive")],
        f"{H_HUB}/skoala/hive:v0.28.1"),
    ("b-C", C, RULES_B, [("registry", HARBOR), ("repository", "docker.m.daocloud.io/skoala/hive")],
        f"{H_DAO}/skoala/hive@{DC}"),
    ("b-D", D, RULES_B, [("registry", HARBOR), ("repository", "index.docker.io/library/nginx")],
        f"{H_HUB}/library/nginx:1.25"),
    ("b-D-short", D_SHORT, RULES_B, [("registry", HARBOR), ("repository", "index.docker.io/library/nginx")],
        f"{H_HUB}/library/nginx:1.25"),
    # (c) containerPrefixRegistry + containerPrefixRepository: R0/PP/P0.
    ("c-A", A, RULES_C, [("registry", HARBOR), ("repository", "docker.m.daocloud.io/dce/skoala/hive")],
        f"{H_DAO}/dce/skoala/hive:v0.28.1"),
    ("c-B", B, RULES_C, [("combined", f"{H_HUB}/dce/skoala/hive")],
        f"{H_HUB}/dce/skoala/hive:v0.28.1"),
    ("c-C", C, RULES_C, [("registry", HARBOR), ("repository", "docker.m.daocloud.io/dce/skoala/hive")],
        f"{H_DAO}/dce/skoala/hive@{DC}"),  # not in the spec's table; same rules applied
    ("c-D", D, RULES_C, [("registry", HARBOR), ("repository", "index.docker.io/dce/library/nginx")],
        f"{H_HUB}/dce/library/nginx:1.25"),
    # (c) variants.
    ("c-registry-A", A, REGISTRY_AND_PREFIX_REPO, [("registry", HARBOR), ("repository", "dce/skoala/hive")],
        f"{HARBOR}/dce/skoala/hive:v0.28.1"),
    ("c-prefix-repo-only-A", A, PREFIX_REPO_ONLY, [("repository", "dce/skoala/hive")],
        "docker.m.daocloud.io/dce/skoala/hive:v0.28.1"),
    ("c-prefix-repo-only-B", B, PREFIX_REPO_ONLY, [("combined", "index.docker.io/dce/skoala/hive")],
        "index.docker.io/dce/skoala/hive:v0.28.1"),
    # Values keep `registry: docker.io` (R0 unchanged); it still normalises to index.docker.io.
    ("c-prefix-repo-only-D", D, PREFIX_REPO_ONLY, [("repository", "dce/library/nginx")],
        "index.docker.io/dce/library/nginx:1.25"),
    # (d) containerPrefixRegistry + appendOriginRegistry: the origin host goes into the registry value.
    ("d-A", A, RULES_D, [("registry", H_DAO)],
        f"{H_DAO}/skoala/hive:v0.28.1"),
    ("d-B", B, RULES_D, [("combined", f"{H_HUB}/skoala/hive")],
        f"{H_HUB}/skoala/hive:v0.28.1"),
    ("d-C", C, RULES_D, [("registry", H_DAO)],
        f"{H_DAO}/skoala/hive@{DC}"),  # not in the spec's table; same rules applied
    ("d-D", D, RULES_D, [("registry", H_HUB)],
        f"{H_HUB}/library/nginx:1.25"),
    ("d-D-short", D_SHORT, RULES_D, [("registry", H_HUB)],
        f"{H_HUB}/nginx:1.25"),
    # (d) variants: prefix repository is ignored; containerRepository still flattens.
    ("d-prefix-repo-A", A, RULES_D_PREFIX_REPO, [("registry", H_DAO)],
        f"{H_DAO}/skoala/hive:v0.28.1"),
    ("d-prefix-repo-B", B, RULES_D_PREFIX_REPO, [("combined", f"{H_HUB}/skoala/hive")],
        f"{H_HUB}/skoala/hive:v0.28.1"),
    ("d-prefix-repo-D", D, RULES_D_PREFIX_REPO, [("registry", H_HUB)],
        f"{H_HUB}/library/nginx:1.25"),
    ("d-repository-A", A, RULES_D_REPOSITORY, [("registry", H_DAO), ("repository", "dce/images/hive")],
        f"{H_DAO}/dce/images/hive:v0.28.1"),
    # appendOriginRegistry without containerPrefixRegistry does nothing.
    ("append-only-A", A, APPEND_ONLY, [], None),
    ("append-only-B", B, APPEND_ONLY, [], None),
    ("append-only-D", D, APPEND_ONLY, [], None),
    ("append-registry-A", A, APPEND_AND_REGISTRY, [("registry", HARBOR)],
        f"{HARBOR}/skoala/hive:v0.28.1"),
    ("append-prefix-repo-A", A, APPEND_AND_PREFIX_REPO, [("repository", "dce/skoala/hive")],
        "docker.m.daocloud.io/dce/skoala/hive:v0.28.1"),
    # Step 4: a template without tag or digest pins REPO@D, which always counts as a change; the push
    # keeps the original (default) tag.
    ("pin-b-A", A_TAGLESS, RULES_B,
        [("registry", HARBOR), ("repository", f"docker.m.daocloud.io/skoala/hive@{IMG}")],
        f"{H_DAO}/skoala/hive:latest"),
    ("pin-a-B", B_TAGLESS, RULES_A, [("combined", f"{HARBOR}/dce/images/hive@{IMG}")],
        f"{HARBOR}/dce/images/hive:latest"),
    ("pin-d-A", A_TAGLESS, RULES_D, [("registry", H_DAO), ("repository", f"skoala/hive@{IMG}")],
        f"{H_DAO}/skoala/hive:latest"),
    # Even with no effective rule the pin is written, and the image is pushed back to where it came from.
    ("pin-append-only-A", A_TAGLESS, APPEND_ONLY, [("repository", f"skoala/hive@{IMG}")],
        "docker.m.daocloud.io/skoala/hive:latest"),
    # Registries with ports, on the target side ...
    ("port-target-registry", A, RewriteRules(registry="localhost:5000"), [("registry", "localhost:5000")],
        "localhost:5000/skoala/hive:v0.28.1"),
    ("port-target-append", A, RewriteRules(prefix_registry=f"{HARBOR}:8443", append_origin_registry=True),
        [("registry", f"{HARBOR}:8443/docker.m.daocloud.io")],
        f"{HARBOR}:8443/docker.m.daocloud.io/skoala/hive:v0.28.1"),
    # ... and on the source side, where only non-prefix rules keep the name valid.
    ("port-source-registry", Image(combined="127.0.0.1:5000/skoala/hive", tag="v1"), REGISTRY_ONLY,
        [("combined", f"{HARBOR}/skoala/hive")], f"{HARBOR}/skoala/hive:v1"),
    ("port-source-repository", Image(combined="localhost:5000/skoala/hive", tag="v1"), RULES_A,
        [("combined", f"{HARBOR}/dce/images/hive")], f"{HARBOR}/dce/images/hive:v1"),
    # localhost/xy is a Docker Hub repository, so its origin segment is index.docker.io.
    ("localhost-is-hub", Image(combined="localhost/xy", tag="1.0.2"), RULES_B,
        [("combined", f"{H_HUB}/localhost/xy")], f"{H_HUB}/localhost/xy:1.0.2"),
    # Tags with dots and dashes pass through untouched.
    ("dotted-tag", Image(registry="ghcr.io", repository="org/app", tag="1.2.3-rc.1"), RULES_C,
        [("registry", HARBOR), ("repository", "ghcr.io/dce/org/app")],
        f"{HARBOR}/ghcr.io/dce/org/app:1.2.3-rc.1"),
]
# fmt: on


def _run(image: Image, rules: RewriteRules) -> tuple[Relocation, Actions, str | None]:
    """Drive the modules the way the chart mover does for one placeholder-only hint."""
    ref = parse_reference(image.render())
    digest = image.digest if image.digest is not None else IMG
    rel = relocate(ref, rules, digest)
    tagless = image.tag is None and image.digest is None
    actions = rewrite_actions(
        rel,
        combined=image.combined is not None,
        has_registry=image.registry is not None,
        has_repository=image.repository is not None,
        pinned_digest=IMG if tagless else None,
    )
    rewritten = render_rewritten(
        actions,
        combined=image.combined,
        registry=image.registry,
        repository=image.repository,
        tag=image.tag,
        digest=image.digest,
    )
    pushed = push_target(rewritten, ref) if needs_push(ref, rewritten) else None
    return rel, list(actions), pushed


@pytest.mark.parametrize(
    ("image", "rules", "actions", "pushed"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE]
)
def test_worked_examples(image: Image, rules: RewriteRules, actions: Actions, pushed: str | None) -> None:
    rel, got_actions, got_pushed = _run(image, rules)
    assert got_actions == actions
    assert got_pushed == pushed
    # Without a literal `repository: nginx` or a step-4 pin, the plain REG/REPO target agrees with §2.8.
    if pushed is not None and image not in (D_SHORT, A_TAGLESS, B_TAGLESS):
        assert rel.target_name == pushed
        assert rel.target.name == parse_reference(pushed).name


@pytest.mark.parametrize(
    ("image", "rules", "reg", "repo", "reg_changed", "repo_changed"),
    [
        (A, RULES_A, HARBOR, "dce/images/hive", True, True),
        (B, RULES_B, HARBOR, "index.docker.io/skoala/hive", True, True),
        (D, RULES_B, HARBOR, "index.docker.io/library/nginx", True, True),
        (D_SHORT, REGISTRY_ONLY, HARBOR, "library/nginx", True, False),
        (A, RULES_C, HARBOR, "docker.m.daocloud.io/dce/skoala/hive", True, True),
        (D, RULES_D, "harbor.example.com/index.docker.io", "library/nginx", True, False),
        (A, RULES_D_PREFIX_REPO, "harbor.example.com/docker.m.daocloud.io", "skoala/hive", True, False),
        (A, APPEND_ONLY, "docker.m.daocloud.io", "skoala/hive", False, False),
        (A, PREFIX_REPO_ONLY, "docker.m.daocloud.io", "dce/skoala/hive", False, True),
        # containerRepository overrides every prefix rule and keeps only the last path segment.
        (
            Image(combined="ghcr.io/a/b/c", tag="1"),
            RewriteRules(prefix_repository="x", repository="dce"),
            "ghcr.io",
            "dce/c",
            False,
            True,
        ),
        # containerRegistry spelled docker.io differs from R0 index.docker.io: a "change" [Q].
        (B, RewriteRules(registry="docker.io"), "docker.io", "skoala/hive", True, False),
    ],
)
def test_relocation_fields(
    image: Image, rules: RewriteRules, reg: str, repo: str, reg_changed: bool, repo_changed: bool
) -> None:
    rel = relocate(parse_reference(image.render()), rules)
    assert (rel.registry, rel.repository) == (reg, repo)
    assert (rel.registry_changed, rel.repository_changed) == (reg_changed, repo_changed)
    assert rel.context == f"{reg}/{repo}"


@pytest.mark.parametrize("image", [A, B, C, D, D_SHORT, A_TAGLESS])
def test_prefix_repository_is_ignored_with_append(image: Image) -> None:
    ref = parse_reference(image.render())
    assert relocate(ref, RULES_D) == relocate(ref, RULES_D_PREFIX_REPO)


@pytest.mark.parametrize(
    "rules", [APPEND_ONLY, APPEND_AND_REGISTRY, APPEND_AND_PREFIX_REPO], ids=["alone", "registry", "prefix-repo"]
)
@pytest.mark.parametrize("image", [A, B, C, D])
def test_append_without_prefix_registry_does_nothing(image: Image, rules: RewriteRules) -> None:
    ref = parse_reference(image.render())
    assert relocate(ref, rules) == relocate(ref, replace(rules, append_origin_registry=False))


@pytest.mark.parametrize(
    ("rules", "host", "path"),
    [
        (RULES_D, HARBOR, "docker.m.daocloud.io/skoala/hive"),
        (RULES_B, HARBOR, "docker.m.daocloud.io/skoala/hive"),
        (RULES_A, HARBOR, "dce/images/hive"),
        (
            RewriteRules(prefix_registry="harbor.example.com:8443", append_origin_registry=True),
            "harbor.example.com:8443",
            "docker.m.daocloud.io/skoala/hive",
        ),
        (RewriteRules(registry="docker.io"), "index.docker.io", "skoala/hive"),
        # A first segment without '.' or ':' is not a host (§2.5): it all goes to Docker Hub.
        (
            RewriteRules(prefix_registry="harbor", append_origin_registry=True),
            "index.docker.io",
            "harbor/docker.m.daocloud.io/skoala/hive",
        ),
        (APPEND_ONLY, "docker.m.daocloud.io", "skoala/hive"),
    ],
)
def test_target_host_and_path(rules: RewriteRules, host: str, path: str) -> None:
    rel = relocate(parse_reference(A.render()), rules)
    assert rel.target_host == host
    assert rel.target_repository_path == path


@pytest.mark.parametrize("rules", [RULES_B, RULES_C, RULES_D], ids=["b", "c", "d"])
def test_prefixing_an_origin_registry_with_a_port_is_invalid(rules: RewriteRules) -> None:
    # R0 = 127.0.0.1:5000 ends up inside the repository path, and ':' is not allowed there. charts-syncer
    # fails the same way when it re-renders the rewritten reference.
    image = Image(registry="127.0.0.1:5000", repository="skoala/hive", tag="v1")
    ref = parse_reference(image.render())
    rel = relocate(ref, rules)
    with pytest.raises(ValueError, match="invalid image reference"):
        _ = rel.target
    actions = rewrite_actions(rel, combined=False, has_registry=True, has_repository=True, pinned_digest=None)
    with pytest.raises(ValueError, match="invalid image reference"):
        render_rewritten(actions, registry=image.registry, repository=image.repository, tag=image.tag)


def test_target_of_digest_source_keeps_digest() -> None:
    ref = parse_reference(f"docker.m.daocloud.io/skoala/hive:v0.28.1@{DC}")
    rel = relocate(ref, RULES_B)
    assert rel.target_name == f"harbor.example.com/docker.m.daocloud.io/skoala/hive@{DC}"
    # The tag written before the digest does not make it a tag push (§2.8: identifier is the digest).
    rewritten = parse_reference(rel.target_name)
    assert push_target(rewritten, ref) == rel.target_name


def test_push_target_uses_original_tag_even_when_values_pin_a_digest() -> None:
    original = parse_reference("docker.m.daocloud.io/skoala/hive")
    rewritten = parse_reference(f"harbor.example.com/docker.m.daocloud.io/skoala/hive@{IMG}")
    assert push_target(rewritten, original) == "harbor.example.com/docker.m.daocloud.io/skoala/hive:latest"


def test_needs_push_compares_normalised_names() -> None:
    original = parse_reference("docker.io/library/nginx:1.25")
    assert not needs_push(original, parse_reference("nginx:1.25"))
    assert needs_push(original, parse_reference("harbor.example.com/library/nginx:1.25"))


def test_rewrite_actions_combined_unchanged_is_empty() -> None:
    rel = relocate(parse_reference(B.render()), APPEND_ONLY)
    assert rewrite_actions(rel, combined=True, has_registry=False, has_repository=False, pinned_digest=None) == []


def test_rewrite_actions_only_for_present_fragments() -> None:
    rel = relocate(parse_reference(A.render()), RULES_A)
    kwargs = {"combined": False, "pinned_digest": None}
    assert rewrite_actions(rel, has_registry=False, has_repository=True, **kwargs) == [  # type: ignore[arg-type]
        ("repository", "dce/images/hive")
    ]
    assert rewrite_actions(rel, has_registry=True, has_repository=False, **kwargs) == [  # type: ignore[arg-type]
        ("registry", HARBOR)
    ]


def test_rewrite_actions_rejects_bad_input() -> None:
    rel = relocate(parse_reference(A.render()), RULES_A)
    with pytest.raises(ValueError, match="either a combined"):
        rewrite_actions(rel, combined=True, has_registry=True, has_repository=False, pinned_digest=None)
    with pytest.raises(ValueError, match="pinned digest"):
        rewrite_actions(rel, combined=False, has_registry=True, has_repository=True, pinned_digest="sha256:x")
    with pytest.raises(ValueError, match="image digest"):
        relocate(parse_reference(A.render()), RULES_A, "md5:abc")


def test_render_rewritten_rejects_mismatched_fragments() -> None:
    with pytest.raises(ValueError, match="no such fragment"):
        render_rewritten([("combined", "x.io/a/b")], registry="r.io", repository="a/b", tag="1")
    with pytest.raises(ValueError, match="needs a combined fragment"):
        render_rewritten([], registry="r.io", tag="1")
    with pytest.raises(ValueError, match="either a combined"):
        render_rewritten([], combined="a/b", registry="r.io")


def test_relocation_carries_digest() -> None:
    rel = relocate(parse_reference(A.render()), RULES_B, IMG)
    assert rel.digest == IMG
    assert rel.pinned_repository(IMG) == f"docker.m.daocloud.io/skoala/hive@{IMG}"


# --- RewriteRules -----------------------------------------------------------------------------------


def test_from_config_camel_case() -> None:
    target = {
        "intermediateBundlesPath": "/bundles",
        "containerRegistry": "r.example.com",
        "containerPrefixRegistry": HARBOR,
        "containerRepository": "dce/images",
        "containerPrefixRepository": "dce",
        "appendOriginRegistry": True,
        "containers": {"auth": {"username": "u", "password": "p"}},
    }
    assert RewriteRules.from_config(target) == RewriteRules(
        registry="r.example.com",
        prefix_registry=HARBOR,
        repository="dce/images",
        prefix_repository="dce",
        append_origin_registry=True,
    )


def test_from_config_snake_case_and_defaults() -> None:
    assert RewriteRules.from_config({"container_prefix_registry": HARBOR, "append_origin_registry": True}) == RULES_D
    assert RewriteRules.from_config({}) == RewriteRules()
    assert RewriteRules.from_config({"containerRegistry": None}) == RewriteRules()
    assert RewriteRules.from_config({"containerRegistry": HARBOR, "container_registry": HARBOR}) == REGISTRY_ONLY


def test_from_target_reads_attributes() -> None:
    @dataclass(frozen=True)
    class Target:
        container_registry: str = ""
        container_prefix_registry: str = HARBOR
        container_repository: str = ""
        container_prefix_repository: str = "dce"
        append_origin_registry: bool = True

    assert RewriteRules.from_target(Target()) == RULES_D_PREFIX_REPO


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"containerRegistry": 1.2}, "containerRegistry must be a string"),
        ({"containerPrefixRepository": ["dce"]}, "containerPrefixRepository must be a string"),
        ({"appendOriginRegistry": "true"}, "appendOriginRegistry must be true or false"),
        ({"containerRegistry": "a.io", "container_registry": "b.io"}, "both"),
    ],
)
def test_from_config_rejects(target: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RewriteRules.from_config(target)


@pytest.mark.parametrize(
    ("rules", "empty"),
    [
        (RewriteRules(), True),
        (APPEND_ONLY, True),  # appendOriginRegistry alone is not a rule that moves images
        (REGISTRY_ONLY, False),
        (RULES_B, False),
        (PREFIX_REPO_ONLY, False),
        (RewriteRules(repository="dce"), False),
    ],
)
def test_is_empty(rules: RewriteRules, empty: bool) -> None:
    assert rules.is_empty is empty
