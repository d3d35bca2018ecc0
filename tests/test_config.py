"""Config reader: the vendor variants load, every bad file fails on the right line, env overrides as charts-syncer."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from skoala_airgap.config.model import ChartFilter, Config, RepoKind
from skoala_airgap.config.reader import find_config, load_config, validate_config
from skoala_airgap.config.select import chart_selected, require_rewrite_rule, skip_images_for
from skoala_airgap.errors import ConfigError, InputError
from skoala_airgap.sources.open import bundle_files

DATA = Path(__file__).parent / "data" / "configs"

LOAD_HEADER = """\
source:
  intermediateBundlesPath: ./offline
"""
LOAD_TARGET = LOAD_HEADER + "target:\n  repo: {kind: OCI, url: https://h.example.com/p}\n"


def write(tmp_path: Path, text: str, name: str = "load-image.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), environ=environ or {})


def error_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, environ)
    return info.value


# ---------------------------------------------------------------------------------------------------------------
# The good corpus


def test_harbor_variant() -> None:
    config = load_config(DATA / "good-harbor.yaml", environ={})
    assert config.source.intermediate_bundles_path == Path("offline")
    assert config.source.repo is None
    assert not config.source.is_package_archive
    target = config.target
    assert target.repo is not None
    assert target.repo.kind is RepoKind.HARBOR
    assert target.repo.url == "https://harbor.example.com/chartrepo/skoala"
    assert target.repo.auth is not None
    assert (target.repo.auth.username, target.repo.auth.password) == ("admin", "Harbor12345")
    assert target.container_prefix_registry == "harbor.example.com"
    assert target.container_registry == ""
    assert target.repo_name == "myrepo"
    assert target.containers is not None
    assert target.containers.kind is RepoKind.HARBOR
    assert target.containers.auth is not None
    assert target.containers.auth.registry == "harbor.example.com"
    assert target.containers.auth.password == "Harbor12345"
    assert config.charts == (
        ChartFilter("skoala", ("0.28.1", "0.28.1-rc.1+build"), False),
        ChartFilter("skoala-init", (), True),
    )
    assert config.skip_charts == ()
    assert config.warnings == ()
    assert config.rewrite_rules_present()


def test_chartmuseum_variant_with_snake_case_and_trailing_slash() -> None:
    config = load_config(DATA / "good-chartmuseum.yaml", environ={})
    assert config.source.intermediate_bundles_path == Path("/data/offline/skoala")
    repo = config.target.repo
    assert repo is not None
    assert repo.kind is RepoKind.CHARTMUSEUM
    assert repo.url == "http://10.6.10.10:8081"
    assert repo.disable_charts_index is False
    assert config.target.container_prefix_registry == "10.6.10.10:5000"
    assert config.target.append_origin_registry is True
    assert config.target.containers is not None
    auth = config.target.containers.auth
    assert auth is not None
    assert (auth.registry, auth.username, auth.password) == ("10.6.10.10:5000", "pusher", "s3cr3t-reg")
    assert config.skip_charts == ("insight-agent",)


def test_local_variant() -> None:
    config = load_config(DATA / "good-local.yaml", environ={})
    repo = config.target.repo
    assert repo is not None
    assert repo.kind is RepoKind.LOCAL
    assert repo.path == Path("charts-out")
    assert repo.url == ""
    assert repo.auth is None
    assert config.target.container_registry == "registry.local:5000"
    assert config.target.container_repository == "dce/images"
    assert config.target.containers is None
    assert config.relocate_container_images is True


def test_oci_variant_numeric_kind_forced_index_and_package_tar() -> None:
    config = load_config(DATA / "good-oci.yaml", environ={})
    repo = config.target.repo
    assert repo is not None
    assert repo.kind is RepoKind.OCI  # given as the number 4
    assert repo.disable_charts_index is True  # forced for OCI targets
    assert config.source.intermediate_bundles_path == Path("skoala_v0.28.1_amd64.tar")
    assert config.source.is_package_archive
    assert config.target.container_prefix_repository == "skoala"
    assert config.target.containers is not None
    assert config.target.containers.auth is not None
    assert config.target.containers.auth.registry == "harbor.example.com"


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("good-*.yaml")))
def test_good_files_validate_clean(name: str) -> None:
    assert validate_config(DATA / name, environ={}, skip_images=False) == []


# ---------------------------------------------------------------------------------------------------------------
# The bad corpus

BAD = [
    ("bad-no-source.yaml", None, "no source"),
    ("bad-both-repo-and-bundles.yaml", 5, "source has both repo and intermediateBundlesPath"),
    ("bad-unknown-kind.yaml", 6, 'unknown kind "GITEA" in target.repo.kind'),
    ("bad-unknown-field.yaml", 7, 'unknown field "containerPrefix" in target'),
    ("bad-harbor-no-chartrepo.yaml", 7, "/chartrepo/<project>"),
    ("bad-duplicate-key.yaml", 8, 'duplicate field "containerRegistry" in target (first given on line 4)'),
    (
        "bad-charts-and-skipcharts.yaml",
        10,
        '"charts" and "skipCharts" properties can not be set at the same time',
    ),
    ("bad-chart-name.yaml", 10, 'charts name "skoala_init" is invalid'),
    ("bad-numeric-version.yaml", 12, 'charts[0].versions[1] must be a string, not a number (quote it: "1.2")'),
    ("bad-auth-no-password.yaml", 9, '"target.containers.auth" "username" and "password" are required'),
    ("bad-many-problems.yaml", 4, 'credentials server name "https://harbor.example.com" must not contain a scheme'),
]


def test_bad_corpus_is_complete() -> None:
    assert {name for name, _, _ in BAD} == {p.name for p in DATA.glob("bad-*.yaml")}


@pytest.mark.parametrize(("name", "line", "text"), BAD)
def test_bad_file_fails_on_its_line(name: str, line: int | None, text: str) -> None:
    path = DATA / name
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    error = info.value
    assert isinstance(error, InputError)
    assert error.exit_code == 2
    assert error.line == line
    assert text in error.reason
    assert "\n" not in str(error)
    where = f"{path}:{line}" if line else str(path)
    assert str(error).startswith(f"{where}: ")


def test_unknown_field_message_format() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(DATA / "bad-unknown-field.yaml", environ={})
    assert str(info.value).startswith(f'{DATA / "bad-unknown-field.yaml"}:7: unknown field "containerPrefix" in target')


def test_harbor_error_hints_at_oci() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(DATA / "bad-harbor-no-chartrepo.yaml", environ={})
    assert "use kind OCI" in info.value.reason
    assert "2.8" in info.value.reason


def test_validate_collects_every_problem_in_line_order() -> None:
    errors = validate_config(DATA / "bad-many-problems.yaml", environ={})
    assert [e.line for e in errors] == [4, 7, 8, 14, 15]
    reasons = [e.reason for e in errors]
    assert reasons[1].startswith('"target.repo.url" should be a valid URL: ')
    assert reasons[2].startswith('unknown field "colour" in target.repo')
    assert reasons[3].startswith('charts name "9lives" is invalid')
    assert reasons[4].startswith("charts[0].versions[0] must be a string")
    # load_config raises the first one
    with pytest.raises(ConfigError) as info:
        load_config(DATA / "bad-many-problems.yaml", environ={})
    assert info.value.line == 4


def test_validate_reports_missing_rewrite_rule_only_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, LOAD_HEADER + "target:\n  repo: {kind: OCI, url: https://h.example.com/p}\n")
    assert validate_config(path, environ={}) == []
    errors = validate_config(path, environ={}, skip_images=False)
    assert [e.reason.split(":")[0] for e in errors] == ["at least one rewrite rule is required"]
    assert errors[0].line == 3
    assert validate_config(path, environ={}, skip_images=True) == []


# ---------------------------------------------------------------------------------------------------------------
# Decoding rules


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("source: [a\ntarget: {}\n", 2, "invalid YAML"),
        ("", None, "config is empty"),
        ("- a\n- b\n", 1, "config must be a mapping, not a list"),
        ("source: {intermediateBundlesPath: a}\n---\ntarget: {}\n", 2, "invalid YAML: but found another document"),
        (LOAD_HEADER + "target:\n  repo:\n    kind: OCI\n    url: 8080\n", 6, "target.repo.url must be a string"),
        (LOAD_TARGET + "  appendOriginRegistry: 'true'\n", 5, "must be true or false, not a string"),
        (LOAD_HEADER + "target:\n  repo: {kind: UNKNOWN, url: https://h/p}\n", 4, 'unsupported repo kind "UNKNOWN"'),
        (LOAD_HEADER + "target:\n  repo: {kind: 0, url: https://h/p}\n", 4, 'unsupported repo kind "UNKNOWN"'),
        (LOAD_HEADER + "target:\n  repo: {url: https://h/p}\n", 4, "target.repo.kind is not set"),
        (LOAD_HEADER + "target:\n  repo: {kind: 9, url: https://h/p}\n", 4, 'unknown kind "9"'),
        (LOAD_HEADER + "target:\n  repo: {kind: harbor, url: https://h/chartrepo/p}\n", 4, 'unknown kind "harbor"'),
        (LOAD_HEADER + "target:\n  repo: {kind: LOCAL}\n", 4, '"target.repo.path" is required for kind LOCAL'),
        (LOAD_HEADER + "target:\n  repo: {kind: OCI, url: oci://h/p}\n", 4, "must start with http:// or https://"),
        (LOAD_HEADER + "target:\n  repo: {kind: OCI, url: 'https://h:99999/p'}\n", 4, "should be a valid URL"),
        (LOAD_HEADER + "target:\n  repo: {kind: OCI}\n", 4, "should be a valid URL: empty url"),
        (
            LOAD_HEADER + "target:\n  repo:\n    kind: OCI\n    url: https://h/p\n    auth: {username: u}\n",
            7,
            '"target.repo.auth" "username" and "password" are required',
        ),
        (LOAD_HEADER + "target:\n  intermediateBundlesPath: ./out\n", 4, "target.repo is required when loading"),
        (LOAD_HEADER, None, "no target"),
        ("source: {}\ntarget: {repo: {kind: OCI, url: https://h/p}}\n", 1, "no source"),
        (
            LOAD_TARGET + "  containerRegistry: a\n  container_registry: b\n",
            6,
            'duplicate field "container_registry" in target (first given as "containerRegistry" on line 5)',
        ),
        (LOAD_TARGET + "charts: [redis]\n", 5, "plain chart names are the old format"),
        (LOAD_TARGET + "charts:\n  - name: redis\n    version: 1.0.0\n", 7, '(did you mean "versions"?)'),
        (LOAD_TARGET + "charts:\n  - name: redis\n    versions: ['1_0']\n", 7, 'version "1_0" is invalid'),
        (LOAD_TARGET + "charts:\n  - versions: ['1.0']\n", 6, 'charts name "" is invalid'),
        (LOAD_TARGET + "skipCharts: redis\n", 5, "skipCharts must be a list of strings"),
        (LOAD_TARGET + "  repoName: no\n", 5, "target.repoName must be a string, not a boolean"),
        (LOAD_HEADER + "source2: {}\n", 3, 'unknown field "source2" in config'),
    ],
)
def test_decoding_errors(tmp_path: Path, text: str, line: int | None, reason: str) -> None:
    error = error_of(tmp_path, text)
    assert reason in error.reason
    assert error.line == line
    assert "\n" not in str(error)


def test_yaml11_booleans_and_unquoted_semver(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        LOAD_HEADER
        + "target:\n  containerRegistry: r.example.com\n  repo: {kind: OCI, url: https://h/p}\n"
        + "charts:\n  - name: skoala\n    versions: [0.28.1, v1]\n    skipImages: yes\n",
    )
    assert config.charts == (ChartFilter("skoala", ("0.28.1", "v1"), True),)
    # go-yaml v2: "y" is a boolean, and there are no base-60 numbers
    config = load(tmp_path, LOAD_TARGET + "  containerRegistry: 1:20\n  appendOriginRegistry: y\n")
    assert config.target.container_registry == "1:20"
    assert config.target.append_origin_registry is True
    assert "not a boolean" in error_of(tmp_path, LOAD_TARGET + "  containerRepository: n\n").reason


def test_password_type_error_does_not_echo_the_value(tmp_path: Path) -> None:
    error = error_of(
        tmp_path,
        LOAD_HEADER
        + "target:\n  repo:\n    kind: OCI\n    url: https://h/p\n    auth: {username: u, password: 123456}\n",
    )
    assert "password must be a string" in error.reason
    assert "123456" not in str(error)


def test_merge_keys_are_expanded(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """\
        source:
          intermediateBundlesPath: ./offline
        target:
          containerRegistry: r.example.com
          repo:
            kind: HARBOR
            url: https://r.example.com/chartrepo/skoala
            auth: &creds
              username: admin
              password: Harbor12345
          containers:
            auth:
              <<: *creds
              password: other
        """,
    )
    assert config.target.containers is not None
    assert config.target.containers.auth is not None
    assert config.target.containers.auth.username == "admin"
    assert config.target.containers.auth.password == "other"


def test_source_repo_defaults_charts_index(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """\
        source:
          repo: {kind: HARBOR, url: "https://release.example.com/chartrepo/skoala/"}
        target:
          intermediateBundlesPath: ./out
        """,
    )
    assert config.source.repo is not None
    assert config.source.repo.url == "https://release.example.com/chartrepo/skoala"
    assert config.source.repo.charts_index == "release.example.com/chartrepo/skoala/charts-index:latest"
    assert config.target.intermediate_bundles_path == Path("out")


def test_line_of_falls_back_to_parent(tmp_path: Path) -> None:
    config = load_config(DATA / "good-harbor.yaml", environ={})
    assert config.line_of("target.repo.url") == 8
    assert config.line_of("target.repo.auth.nothing") == 9
    assert config.line_of("charts[1].name") == 22
    assert config.line_of("nothing") is None


# ---------------------------------------------------------------------------------------------------------------
# Environment overrides (spec §3.5)

ENV_BASE = (
    LOAD_HEADER
    + """\
target:
  containerRegistry: registry.example.com
  repo:
    kind: OCI
    url: https://registry.example.com/charts
"""
)


def repo_auth(config: Config) -> tuple[str, str] | None:
    assert config.target.repo is not None
    auth = config.target.repo.auth
    return None if auth is None else (auth.username, auth.password)


def container_auth(config: Config) -> tuple[str, str, str] | None:
    containers = config.target.containers
    if containers is None or containers.auth is None:
        return None
    return (containers.auth.registry, containers.auth.username, containers.auth.password)


def test_env_target_repo_auth_new_name_wins_over_fallback_and_file(tmp_path: Path) -> None:
    text = ENV_BASE + "    auth: {username: fileuser, password: filepass}\n"
    env = {
        "TARGET_REPO_AUTH_USERNAME": "newuser",
        "TARGET_AUTH_USERNAME": "olduser",
        "TARGET_AUTH_PASSWORD": "oldpass",
    }
    assert repo_auth(load(tmp_path, text, env)) == ("newuser", "oldpass")


def test_env_password_combines_with_file_username(tmp_path: Path) -> None:
    text = ENV_BASE + "    auth: {username: fileuser}\n"
    assert repo_auth(load(tmp_path, text, {"TARGET_REPO_AUTH_PASSWORD": "envpass"})) == ("fileuser", "envpass")


def test_empty_env_values_are_ignored(tmp_path: Path) -> None:
    text = ENV_BASE + "    auth: {username: fileuser, password: filepass}\n"
    env = {"TARGET_REPO_AUTH_USERNAME": "", "TARGET_REPO_AUTH_PASSWORD": "", "TARGET_AUTH_PASSWORD": "old"}
    assert repo_auth(load(tmp_path, text, env)) == ("fileuser", "old")


def test_env_repo_auth_needs_both_values(tmp_path: Path) -> None:
    assert repo_auth(load(tmp_path, ENV_BASE, {"TARGET_REPO_AUTH_USERNAME": "u"})) is None
    assert repo_auth(load(tmp_path, ENV_BASE, {"TARGET_AUTH_USERNAME": "u", "TARGET_AUTH_PASSWORD": "p"})) == (
        "u",
        "p",
    )


def test_env_source_repo_auth(tmp_path: Path) -> None:
    text = """\
        source:
          repo: {kind: HARBOR, url: https://r.example.com/chartrepo/p}
        target:
          intermediateBundlesPath: o
        """
    config = load(tmp_path, text, {"SOURCE_AUTH_USERNAME": "u", "SOURCE_REPO_AUTH_PASSWORD": "p"})
    assert config.source.repo is not None
    assert config.source.repo.auth is not None
    assert (config.source.repo.auth.username, config.source.repo.auth.password) == ("u", "p")


def test_env_target_container_auth_uses_derived_registry(tmp_path: Path) -> None:
    env = {"TARGET_CONTAINERS_AUTH_USERNAME": "pusher", "TARGET_CONTAINERS_AUTH_PASSWORD": "pw"}
    assert container_auth(load(tmp_path, ENV_BASE, env)) == ("registry.example.com", "pusher", "pw")
    prefixed = ENV_BASE + "  containerPrefixRegistry: prefix.example.com:5000\n"
    assert container_auth(load(tmp_path, prefixed, env)) == ("prefix.example.com:5000", "pusher", "pw")


def test_env_target_container_password_with_file_username_and_ignored_registry(tmp_path: Path) -> None:
    text = ENV_BASE + "  containers:\n    kind: HARBOR\n    auth: {registry: elsewhere.example.com, username: fu}\n"
    config = load(tmp_path, text, {"TARGET_CONTAINERS_AUTH_PASSWORD": "envpw", "TARGET_CONTAINERS_AUTH_REGISTRY": "x"})
    assert container_auth(config) == ("registry.example.com", "fu", "envpw")
    assert config.target.containers is not None
    assert config.target.containers.kind is RepoKind.HARBOR
    assert len(config.warnings) == 1
    assert "elsewhere.example.com" in config.warnings[0]
    assert "is ignored" in config.warnings[0]


def test_env_target_container_username_only_is_incomplete(tmp_path: Path) -> None:
    error = error_of(tmp_path, ENV_BASE, {"TARGET_CONTAINERS_AUTH_USERNAME": "u"})
    assert error.reason == '"target.containers.auth" "username" and "password" are required'


def test_env_source_container_auth(tmp_path: Path) -> None:
    env = {
        "SOURCE_CONTAINERS_AUTH_REGISTRY": "docker.m.daocloud.io",
        "SOURCE_CONTAINERS_AUTH_USERNAME": "u",
        "SOURCE_CONTAINERS_AUTH_PASSWORD": "p",
    }
    config = load(tmp_path, ENV_BASE, env)
    assert config.source.containers is not None
    assert config.source.containers.auth is not None
    assert config.source.containers.auth.registry == "docker.m.daocloud.io"
    error = error_of(tmp_path, ENV_BASE, {"SOURCE_CONTAINERS_AUTH_USERNAME": "u"})
    assert error.reason == '"source.containers.auth" "registry", "username" and "password" are required'


def test_env_auth_without_registry_rule_warns(tmp_path: Path) -> None:
    text = LOAD_HEADER + "target:\n  containerRepository: dce\n  repo: {kind: OCI, url: https://h.example.com/p}\n"
    config = load(tmp_path, text, {"TARGET_CONTAINERS_AUTH_USERNAME": "u", "TARGET_CONTAINERS_AUTH_PASSWORD": "p"})
    assert container_auth(config) == ("", "u", "p")
    assert any("unused" in w for w in config.warnings)


@pytest.mark.parametrize("server", ["https://harbor.example.com", "harbor.example.com/dce"])
def test_auth_registry_must_be_bare_host(tmp_path: Path, server: str) -> None:
    text = LOAD_HEADER + f"target:\n  containerPrefixRegistry: {server}\n  repo: {{kind: OCI, url: https://h/p}}\n"
    env = {"TARGET_CONTAINERS_AUTH_USERNAME": "u", "TARGET_CONTAINERS_AUTH_PASSWORD": "p"}
    error = error_of(tmp_path, text, env)
    assert error.line == 4
    assert f'credentials server name "{server}" must not contain a scheme' in error.reason
    assert "nor a path" in error.reason
    # without credentials the rule value is not a server name and is accepted
    assert load(tmp_path, text).target.container_prefix_registry == server


# ---------------------------------------------------------------------------------------------------------------
# Secrets


def test_repr_and_str_never_show_passwords() -> None:
    env = {"TARGET_REPO_AUTH_PASSWORD": "EnvSecret-1"}
    config = load_config(DATA / "good-harbor.yaml", environ=env)
    assert config.target.repo is not None
    assert config.target.repo.auth is not None
    assert config.target.repo.auth.password == "EnvSecret-1"
    for text in (repr(config), str(config), repr(config.target), str(config.target.containers)):
        assert "Harbor12345" not in text
        assert "EnvSecret-1" not in text
    redacted = config.redacted()
    assert "Harbor12345" not in repr(redacted)
    assert "EnvSecret-1" not in repr(redacted)
    assert redacted["target"]["repo"]["auth"] == {"username": "admin", "password": "******"}
    assert redacted["target"]["containers"]["auth"]["password"] == "******"
    assert redacted["target"]["repoName"] == "myrepo"
    assert redacted["charts"][1] == {"name": "skoala-init", "versions": [], "skipImages": True}


# ---------------------------------------------------------------------------------------------------------------
# Rewrite rules, chart selection


def test_require_rewrite_rule(tmp_path: Path) -> None:
    config = load(
        tmp_path, LOAD_HEADER + "target:\n  appendOriginRegistry: true\n  repo: {kind: OCI, url: https://h/p}\n"
    )
    assert not config.rewrite_rules_present()
    with pytest.raises(ConfigError, match="at least one rewrite rule is required") as info:
        require_rewrite_rule(config, skip_images=False)
    assert info.value.line == 3
    require_rewrite_rule(config, skip_images=True)
    skipping = load(
        tmp_path,
        LOAD_HEADER + "target:\n  repo: {kind: OCI, url: https://h/p}\ncharts:\n  - {name: a, skipImages: true}\n",
    )
    require_rewrite_rule(skipping, skip_images=False)
    require_rewrite_rule(load_config(DATA / "good-local.yaml", environ={}), skip_images=False)


def test_chart_selection() -> None:
    harbor = load_config(DATA / "good-harbor.yaml", environ={})
    assert chart_selected(harbor, "skoala", "0.28.1")
    assert chart_selected(harbor, "skoala", "0.28.1-rc.1+build")
    assert not chart_selected(harbor, "skoala", "0.28.2")
    assert chart_selected(harbor, "skoala-init", "9.9.9")
    assert not chart_selected(harbor, "insight", "1.0.0")
    cm = load_config(DATA / "good-chartmuseum.yaml", environ={})
    assert chart_selected(cm, "skoala", "0.28.1")
    assert not chart_selected(cm, "insight-agent", "0.28.1")
    assert not chart_selected(cm, "bad_name", "1.0.0")
    assert not chart_selected(cm, "skoala", "_1")


def test_skip_images_for() -> None:
    harbor = load_config(DATA / "good-harbor.yaml", environ={})
    assert skip_images_for(harbor, "skoala-init", cli_skip_images=False)
    assert not skip_images_for(harbor, "skoala", cli_skip_images=False)
    assert skip_images_for(harbor, "skoala", cli_skip_images=True)


# ---------------------------------------------------------------------------------------------------------------
# Bundle discovery


def test_bundle_files_skips_strays_and_matches_prerelease(tmp_path: Path) -> None:
    for name in (
        "skoala_0.28.1-rc.1+build.bundle.tar",
        "skoala-init_0.28.1.bundle.tar",
        "images.tar",
        "foo.tar",
        "skoala_0.28.0.bundle.tar",
        "notes.txt",
        "skoala-init-0.27.0.bundle.tgz",
    ):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "dir_1.0.bundle.tar").mkdir()
    found, skipped = bundle_files(tmp_path)
    assert found == [  # lexical order, as Go's filepath.Glob: "-" sorts before "_"
        tmp_path / "skoala-init_0.28.1.bundle.tar",
        tmp_path / "skoala_0.28.0.bundle.tar",
        tmp_path / "skoala_0.28.1-rc.1+build.bundle.tar",
    ]
    assert skipped == [tmp_path / "dir_1.0.bundle.tar", tmp_path / "foo.tar", tmp_path / "images.tar"]


def test_bundle_files_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        bundle_files(tmp_path / "missing")
    assert bundle_files(tmp_path) == ([], [])


# ---------------------------------------------------------------------------------------------------------------
# Discovery


def test_find_config_precedence(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    with pytest.raises(ConfigError, match="no config file"):
        find_config(None, home=home, cwd=cwd)
    (cwd / "charts-syncer.yaml").write_text("{}")
    assert find_config(None, home=home, cwd=cwd) == cwd / "charts-syncer.yaml"
    (home / "charts-syncer.yaml").write_text("{}")
    assert find_config(None, home=home, cwd=cwd) == home / "charts-syncer.yaml"
    (home / "charts-syncer.yaml.yml").write_text("{}")
    assert find_config(None, home=home, cwd=cwd) == home / "charts-syncer.yaml.yml"
    (home / "charts-syncer.yaml.yaml").write_text("{}")
    assert find_config(None, home=home, cwd=cwd) == home / "charts-syncer.yaml.yaml"
    explicit = tmp_path / "load-image.yaml"
    explicit.write_text("{}")
    assert find_config(explicit, home=home, cwd=cwd) == explicit
    with pytest.raises(ConfigError, match="not found"):
        find_config(tmp_path / "missing.yaml", home=home, cwd=cwd)


def test_recursive_merge_and_wrong_shapes_are_reported_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        source: &s
          intermediateBundlesPath: a
          <<: *s
        target: &t [*t]
        """,
    )
    errors = validate_config(path, environ={})
    assert [(e.line, e.reason) for e in errors] == [
        (3, "a merge key (<<) refers to the mapping it is in"),
        (4, "target must be a mapping, not a list"),
    ]
    error = error_of(tmp_path, LOAD_HEADER + "target:\n  repo: https://h.example.com/p\n")
    assert (error.line, error.reason) == (4, "target.repo must be a mapping, not a string")
