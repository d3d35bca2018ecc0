"""Reference parsing follows go-containerregistry pkg/name (spec §2.5)."""

from __future__ import annotations

import pytest

from skoala_airgap.model.reference import Reference, parse_reference, same_image_name

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "ab" * 32


HUB = "index.docker.io"
DAO = "docker.m.daocloud.io"

# fmt: off
PARSE_CASES: list[tuple[str, str, str, str | None, str | None]] = [
    # text                                      registry          repository             tag        digest
    # Docker Hub: default registry, docker.io spelling, library/ namespace.
    ("nginx",                                   HUB,              "library/nginx",       "latest",  None),
    ("nginx:1.25",                              HUB,              "library/nginx",       "1.25",    None),
    ("docker.io/library/nginx:1.25",            HUB,              "library/nginx",       "1.25",    None),
    ("docker.io/nginx:1.25",                    HUB,              "library/nginx",       "1.25",    None),
    ("index.docker.io/nginx",                   HUB,              "library/nginx",       "latest",  None),
    ("skoala/hive:v0.28.1",                     HUB,              "skoala/hive",         "v0.28.1", None),
    # The first component is a registry only if it has '.' or ':' (so localhost/x is on Docker Hub).
    ("localhost/x",                             HUB,              "localhost/x",         "latest",  None),
    ("localhost:5000/xy",                       "localhost:5000", "xy",                  "latest",  None),
    ("localhost:5000/skoala/hive:v1",           "localhost:5000", "skoala/hive",         "v1",      None),
    ("127.0.0.1:5000/skoala/hive:v1",           "127.0.0.1:5000", "skoala/hive",         "v1",      None),
    ("[::1]:5000/skoala/hive:v1",               "[::1]:5000",     "skoala/hive",         "v1",      None),
    (f"{DAO}/skoala/hive:v0.28.1",              DAO,              "skoala/hive",         "v0.28.1", None),
    (f"harbor.example.com/{DAO}/skoala/hive:v1", "harbor.example.com", f"{DAO}/skoala/hive", "v1", None),
    ("ghcr.io/a/b/c/d:1.2.3-rc.1_x",            "ghcr.io",        "a/b/c/d",             "1.2.3-rc.1_x", None),
    ("quay.io/some_org/my__img--x:V1",          "quay.io",        "some_org/my__img--x", "V1",      None),
    # Digests; a tag before the digest is kept in .tag but dropped from the name.
    (f"nginx@{D1}",                             HUB,              "library/nginx",       None,      D1),
    (f"nginx:1.25@{D1}",                        HUB,              "library/nginx",       "1.25",    D1),
    (f"localhost:5000/skoala/hive@{D2}",        "localhost:5000", "skoala/hive",         None,      D2),
    # ggcr (non-strict) reads an empty tag as the default tag.
    ("nginx:",                                  HUB,              "library/nginx",       "latest",  None),
]
# fmt: on


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), PARSE_CASES)
def test_parse(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    # §2.5: registry + "/" + repository string + (":" + tag | "@" + digest).
    name = f"{registry}/{repository}" + (f"@{digest}" if digest is not None else f":{tag}")
    assert ref.name == name
    assert ref.original == text
    assert str(ref) == name
    assert ref.context == f"{registry}/{repository}"
    assert ref.is_digest is (digest is not None)
    assert ref.identifier == (digest if digest is not None else tag)
    # The name is a fixed point of parsing.
    assert parse_reference(ref.name).name == name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Nginx:1.25", "lowercase"),
        ("x", "2 to 255"),  # single-character repository, ggcr refuses it too
        ("localhost:5000/x", "2 to 255"),
        ("docker.io/" + "a" * 256, "2 to 255"),
        ("nginx:1.25:2", "lowercase"),  # the extra ':' lands in the repository
        ("nginx:tag!", "tag 'tag!'"),
        ("nginx:" + "t" * 129, "1 to 128"),
        ("nginx:.hidden", "not start with"),
        ("nginx:-x", "not start with"),
        ("a//b", "component ''"),
        ("/nginx", "component ''"),
        ("nginx/", "component ''"),
        ("-nginx", "component '-nginx'"),
        ("x/a..b", "component 'a..b'"),
        ("a..b/c", "host[:port]"),
        ("my_host.com:abc/x/y", "host[:port]"),  # non-numeric port
        ("reg.example.com:/x/y", "host[:port]"),
        ("user@reg.example.com/x", "sha256"),
        ("nginx@sha256:abc", "sha256"),
        (f"nginx@{D1}@{D1}", "exactly one '@'"),
        (f"nginx@{D1.upper()}", "sha256"),
        (f"nginx:bad!@{D1}", "tag 'bad!'"),
        ("harbor.example.com/127.0.0.1:5000/skoala/hive:v1", "lowercase"),
        ("nginx 1.25", "lowercase"),
        ("<no value>", "lowercase"),
        ("2.0230101e+07", "lowercase"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid image reference") as err:
        parse_reference(text)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("nginx:1.25", "index.docker.io/library/nginx:1.25"),
        ("localhost/x", "index.docker.io/localhost/x:latest"),
        (f"nginx:1.25@{D1}", f"index.docker.io/library/nginx@{D1}"),
        ("127.0.0.1:5000/skoala/hive:v1", "127.0.0.1:5000/skoala/hive:v1"),
    ],
)
def test_name_examples(text: str, name: str) -> None:
    assert parse_reference(text).name == name


def test_tag_length_limit_is_128() -> None:
    assert parse_reference("nginx:" + "t" * 128).tag == "t" * 128


def test_default_tag() -> None:
    assert parse_reference("nginx", default_tag="stable").name == "index.docker.io/library/nginx:stable"
    assert parse_reference("nginx:1", default_tag="stable").tag == "1"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("docker.io/library/nginx:1.25", True),
        ("index.docker.io/library/nginx:1.25", True),
        (f"docker.io/library/nginx@{D1}", True),
        (f"docker.io/library/nginx:1.25@{D1}", True),  # tag optional before a digest, even when strict
        ("nginx:1.25", False),
        ("docker.io/nginx:1.25", False),
        ("docker.io/library/nginx", False),
        ("docker.io/library/nginx:", False),
        ("skoala/hive:v1", False),
        ("localhost:5000/skoala/hive:v1", True),
    ],
)
def test_strict(text: str, ok: bool) -> None:
    if ok:
        assert parse_reference(text, strict=True).name == parse_reference(text).name
    else:
        with pytest.raises(ValueError, match="strict"):
            parse_reference(text, strict=True)


@pytest.mark.parametrize(
    ("text", "familiar"),
    [
        ("docker.io/library/nginx:1.25", "nginx:1.25"),
        ("index.docker.io/library/nginx", "nginx:latest"),
        ("bitnami/redis:7", "bitnami/redis:7"),
        ("docker.io/library/a/b:1", "library/a/b:1"),
        ("docker.m.daocloud.io/skoala/hive:v0.28.1", "docker.m.daocloud.io/skoala/hive:v0.28.1"),
        (f"nginx@{D1}", f"nginx@{D1}"),
        (f"nginx:1.25@{D1}", f"nginx:1.25@{D1}"),
    ],
)
def test_familiar(text: str, familiar: str) -> None:
    ref = parse_reference(text)
    assert ref.familiar == familiar
    assert ref.docker_hub_short() == familiar


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("nginx:1.25", "docker.io/library/nginx:1.25", True),
        ("nginx", "index.docker.io/library/nginx:latest", True),
        ("library/nginx:1.25", "nginx:1.25", True),
        ("nginx:1.25", "nginx:1.26", False),
        ("localhost/x:1", "docker.io/localhost/x:1", True),
        ("localhost/xy:1", "localhost:5000/xy:1", False),
        ("skoala/hive:v1", "docker.m.daocloud.io/skoala/hive:v1", False),
        (f"nginx:1.25@{D1}", f"nginx@{D1}", True),
        ("nginx:1.25", "NOT VALID", False),
    ],
)
def test_same_image_name(a: str, b: str, same: bool) -> None:
    assert same_image_name(a, b) is same
    assert same_image_name(b, a) is same


def test_with_replaces_and_normalises() -> None:
    ref = parse_reference("docker.m.daocloud.io/skoala/hive:v0.28.1")
    moved = ref.with_(registry="harbor.example.com:8443", repository="dce/hive")
    assert moved.name == "harbor.example.com:8443/dce/hive:v0.28.1"
    assert moved.original == moved.name
    hub = ref.with_(registry="docker.io", repository="nginx", tag="1.25")
    assert (hub.registry, hub.repository) == ("index.docker.io", "library/nginx")
    pinned = ref.with_(digest=D1)
    assert pinned.name == f"docker.m.daocloud.io/skoala/hive@{D1}"
    assert pinned.tag == "v0.28.1"
    assert pinned.with_(tag=None).familiar == f"docker.m.daocloud.io/skoala/hive@{D1}"
    assert ref.with_(registry="").registry == "index.docker.io"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"registry": "harbor.example.com/x"},
        {"repository": "Dce/hive"},
        {"tag": "bad tag"},
        {"digest": "sha256:1"},
        {"tag": None},
    ],
)
def test_with_rejects(kwargs: dict[str, str | None]) -> None:
    ref = parse_reference("docker.m.daocloud.io/skoala/hive:v0.28.1")
    with pytest.raises(ValueError, match="invalid image reference"):
        ref.with_(**kwargs)  # type: ignore[arg-type]


def test_reference_needs_tag_or_digest() -> None:
    with pytest.raises(ValueError, match="neither a tag nor a digest"):
        Reference("index.docker.io", "library/nginx", None, None, "nginx")


def test_reference_is_frozen_and_hashable() -> None:
    a = parse_reference("nginx:1.25")
    b = parse_reference("nginx:1.25")
    assert a == b
    assert len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.tag = "x"  # type: ignore[misc]
