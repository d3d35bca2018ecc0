"""`skoala-airgap config init|validate|show`: generated configs load through the sync reader, every problem
is reported with its line, and no password ever reaches stdout, stderr or a file other than the config."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fixtures.bundles import write_offline_package
from skoala_airgap.cli import config_cmd
from skoala_airgap.cli.main import cli
from skoala_airgap.config.model import RepoKind
from skoala_airgap.config.reader import load_config, validate_config
from skoala_airgap.config.template import InitSettings, render_config, write_config
from skoala_airgap.errors import InputError
from tests.conftest import TEST_PASSWORD, TEST_USER
from tests.doubles.chartmuseum import ChartMuseumDouble
from tests.helpers import CliResult, run_cli
from tests.infra.registry import RegistryProcess

DATA = Path(__file__).parent / "data" / "configs"
REPO_SECRET = "Rp-s3cr3t!#:yes"
CONTAINER_SECRET = "Ct-pa55 word%"
SITE = "10.6.10.10"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(write_offline_package(tmp_path_factory.mktemp("pkg"), layer_size=2048).path)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARGET_", "SOURCE_"))}
    env.update(extra)
    return env


SECRET_ENV = {"TARGET_REPO_AUTH_PASSWORD": REPO_SECRET, "TARGET_CONTAINERS_AUTH_PASSWORD": CONTAINER_SECRET}

KIND_FLAGS = {
    "HARBOR": ["--url", "https://10.6.10.10/chartrepo/skoala", "--username", "admin"],
    "CHARTMUSEUM": ["--url", "http://chartmuseum.example.com:8080", "--username", "admin"],
    "OCI": ["--url", "https://harbor.example.com/skoala", "--username", "admin"],
    "LOCAL": ["--path", "./local-repo"],
}


@pytest.mark.parametrize("kind", list(KIND_FLAGS))
def test_init_each_kind_loads_back(tmp_path: Path, package: Path, kind: str) -> None:
    out = tmp_path / "load-image.yaml"
    args = ["config", "init", "--kind", kind.lower(), *KIND_FLAGS[kind], "--bundles", str(package)]
    args += ["--registry", SITE, "--repository", "release.daocloud.io/skoala", "--container-username", "robot$ci"]
    result = run_cli(*args, "-o", str(out), env=_env(**SECRET_ENV))
    assert result.code == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text()
    assert text.count("\n#") + text.count("  # ") >= 5  # annotated like the vendor's examples
    assert validate_config(out, environ={}, skip_images=False) == []
    config = load_config(out, environ={})
    assert config.target.repo is not None and config.target.repo.kind is RepoKind[kind]
    assert config.source.intermediate_bundles_path == package
    assert config.target.container_registry == SITE
    assert config.target.container_repository == "release.daocloud.io/skoala"
    auth = config.target.containers.auth if config.target.containers else None
    assert auth is not None and (auth.username, auth.password, auth.registry) == ("robot$ci", CONTAINER_SECRET, SITE)
    if kind == "LOCAL":
        assert config.target.repo.path == Path("./local-repo") and config.target.repo.auth is None
    else:
        assert config.target.repo.auth is not None and config.target.repo.auth.password == REPO_SECRET
    assert REPO_SECRET not in result.stdout + result.stderr and CONTAINER_SECRET not in result.stdout + result.stderr


def test_init_without_secrets_is_world_readable_and_valid(tmp_path: Path) -> None:
    out = tmp_path / "cfg.yaml"
    result = run_cli(
        "config",
        "init",
        "--kind",
        "OCI",
        "--url",
        "https://h.example.com/p",
        "--bundles",
        "./offline",
        "--prefix-registry",
        "h.example.com",
        "-o",
        str(out),
        env=_env(),
    )
    assert result.code == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert "password" not in out.read_text()
    assert load_config(out, environ={}).target.container_prefix_registry == "h.example.com"
    again = run_cli(
        "config",
        "init",
        "--kind",
        "OCI",
        "--url",
        "https://h.example.com/p",
        "--bundles",
        "x",
        "--registry",
        "h.example.com",
        "-o",
        str(out),
        env=_env(),
    )
    assert again.code == 2 and "already exists" in again.stderr


def test_init_refusals(tmp_path: Path) -> None:
    out = tmp_path / "c.yaml"
    base = ["config", "init", "--bundles", "x", "--registry", SITE, "-o", str(out)]
    no_kind = run_cli(*base, env=_env())
    assert no_kind.code == 2 and "--kind" in no_kind.stderr
    no_password = run_cli(
        *base, "--kind", "HARBOR", "--url", "https://h.example.com/chartrepo/p", "--username", "a", env=_env()
    )
    assert no_password.code == 2 and "TARGET_REPO_AUTH_PASSWORD" in no_password.stderr
    bad_url = run_cli(
        *base, "--kind", "HARBOR", "--url", "https://h.example.com/p", "--username", "a", env=_env(**SECRET_ENV)
    )
    assert bad_url.code == 2 and "chartrepo" in bad_url.stderr
    assert REPO_SECRET not in bad_url.stderr
    no_rule = run_cli("config", "init", "--kind", "LOCAL", "--path", "p", "--bundles", "x", "-o", str(out), env=_env())
    assert no_rule.code == 2 and "--registry" in no_rule.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no temp file left behind


def test_write_config_validates_before_writing(tmp_path: Path) -> None:
    settings = InitSettings(RepoKind.CHARTMUSEUM, bundles="b", url="ftp://x", registry=SITE)
    with pytest.raises(InputError, match="should be a valid URL"):
        write_config(settings, tmp_path / "c.yaml")
    assert list(tmp_path.iterdir()) == []
    assert "password" not in repr(InitSettings(RepoKind.LOCAL, password="p", container_password="q"))


def test_render_quotes_values_yaml_would_misread() -> None:
    text = render_config(
        InitSettings(
            RepoKind.HARBOR,
            bundles="yes",
            url="https://h.example.com/chartrepo/p",
            registry="h.example.com",
            username="on",
            password="123",
        )
    )
    loaded = yaml.safe_load(text)
    assert loaded["source"]["intermediateBundlesPath"] == "yes"
    assert loaded["target"]["repo"]["auth"] == {"username": "on", "password": "123"}


def test_init_interactive_prompts_hide_passwords(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_cmd, "_stdin_is_terminal", lambda: True)
    for name in ("TARGET_REPO_AUTH_PASSWORD", "TARGET_CONTAINERS_AUTH_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "load-image.yaml"
    url = "https://10.6.10.10/chartrepo/skoala"
    answers = "\n".join(["harbor", "./offline", url, "registry", SITE, "", "admin", REPO_SECRET, REPO_SECRET, ""])
    result = CliRunner().invoke(cli, ["config", "init", "-o", str(out)], input=answers + "\n")
    assert result.exit_code == 0, result.output
    assert REPO_SECRET not in result.output
    config = load_config(out, environ={})
    assert config.target.repo is not None and config.target.repo.auth is not None
    assert config.target.repo.auth.password == REPO_SECRET and config.target.container_registry == SITE
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_init_interactive_offers_the_prefix_registry_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The vendor's own sample uses containerPrefixRegistry: the prompt offers it first, as the default."""
    monkeypatch.setattr(config_cmd, "_stdin_is_terminal", lambda: True)
    out = tmp_path / "load-image.yaml"
    # kind, bundles, url, rule (Enter: the default), host, prefix repository, chart user, registry user
    answers = ["oci", "./offline", "https://10.6.10.10/skoala", "", SITE, "mirror", "", ""]
    result = CliRunner().invoke(cli, ["config", "init", "-o", str(out)], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "prefix-registry  HOST/<origin registry>/<repository>" in result.output
    assert "Image rule (prefix-registry, registry) [prefix-registry]" in result.output
    target = load_config(out, environ={}).target
    assert (target.container_prefix_registry, target.container_prefix_repository) == (SITE, "mirror")
    assert target.container_registry == "" and target.container_repository == ""
    assert "containerPrefixRegistry: " in out.read_text()
    # and the other choice asks for containerRegistry / containerRepository
    other = tmp_path / "other.yaml"
    answers = ["local", "./offline", "./charts", "registry", SITE, "dce/images", ""]
    result = CliRunner().invoke(cli, ["config", "init", "-o", str(other)], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    target = load_config(other, environ={}).target
    assert (target.container_registry, target.container_repository, target.container_prefix_registry) == (
        SITE,
        "dce/images",
        "",
    )


# --------------------------------------------------------------------------------------------------------
# validate and show


def test_validate_lists_every_problem_with_lines(tmp_path: Path) -> None:
    bad = run_cli("config", "validate", str(DATA / "bad-many-problems.yaml"), env=_env())
    assert bad.code == 2
    problems = bad.stdout.strip().splitlines()
    assert len(problems) >= 2
    assert all(line.startswith(f"{DATA / 'bad-many-problems.yaml'}:") for line in problems)
    assert all(line.split(":")[1].isdigit() for line in problems)
    assert f"{len(problems)} problems" in bad.stderr
    # charts-syncer-valid, but its bundles folder does not exist: not OK for a sync
    missing = run_cli("config", "validate", str(DATA / "good-local.yaml"), env=_env())
    assert missing.code == 2 and "intermediateBundlesPath offline: no such file or folder" in missing.stdout
    good = tmp_path / "load-image.yaml"
    good.write_text((DATA / "good-local.yaml").read_text().replace("./offline", str(tmp_path)))
    ok = run_cli("config", "validate", str(good), env=_env())
    assert ok.code == 0 and ok.stdout.strip().endswith(": OK"), ok.stdout + ok.stderr
    as_json = json.loads(run_cli("config", "validate", str(good), "--json", env=_env()).stdout)
    assert as_json["ok"] is True and as_json["problems"] == []


def test_show_redacts_and_lists_destinations(tmp_path: Path, package: Path) -> None:
    cfg = tmp_path / "load-image.yaml"
    cfg.write_text((DATA / "good-harbor.yaml").read_text().replace("./offline", str(package)))
    shown = run_cli("config", "show", str(cfg), "--package", str(package), env=_env(**SECRET_ENV))
    assert shown.code == 0, shown.stderr
    assert "Harbor12345" not in shown.stdout and "******" in shown.stdout
    assert (
        "docker.m.daocloud.io/skoala/hive:v0.28.1 -> harbor.example.com/docker.m.daocloud.io/skoala/hive:v0.28.1 [push]"
        in shown.stdout
    )
    assert "[skipImages]" in shown.stdout  # skoala-init has skipImages in that file
    as_json = json.loads(run_cli("config", "show", str(cfg), "--json", env=_env()).stdout)
    assert as_json["config"]["target"]["repo"]["auth"]["password"] == "******"


# --------------------------------------------------------------------------------------------------------
# No password anywhere


def test_no_password_in_any_output_or_written_file(tmp_path: Path, package: Path) -> None:
    env = _env(**SECRET_ENV)
    cfg = tmp_path / "load-image.yaml"
    backup = tmp_path / "bak.yaml"
    backup.write_text("global:\n  imageRegistry: old.example.com\n")
    runs: list[CliResult] = [
        run_cli(
            "config",
            "init",
            "--kind",
            "HARBOR",
            "--url",
            "https://10.6.10.10/chartrepo/skoala",
            "--username",
            "admin",
            "--container-username",
            "admin",
            "--bundles",
            str(package),
            "--registry",
            SITE,
            "-o",
            str(cfg),
            env=env,
        ),
        run_cli("config", "validate", str(cfg), env=env),
        run_cli("config", "show", str(cfg), env=env),
        run_cli("config", "show", str(cfg), "--package", str(package), "--json", env=env),
        run_cli("values", "--config", str(cfg), "-f", str(backup), "-o", str(tmp_path / "override.yaml"), env=env),
        run_cli("values", "--config", str(cfg), "--chart", "skoala", env=env),
        run_cli("helm-command", str(package), "--registry", SITE, "--config", str(cfg), env=env),
        run_cli("--debug", "config", "validate", str(DATA / "bad-auth-no-password.yaml"), env=env),
    ]
    assert [r.code for r in runs[:-1]] == [0] * 7, [r.stderr for r in runs]
    for run in runs:
        for secret in (REPO_SECRET, CONTAINER_SECRET):
            assert secret not in run.stdout and secret not in run.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != cfg]
    assert written, "the commands wrote files"
    for path in written:
        data = path.read_bytes()
        assert REPO_SECRET.encode() not in data and CONTAINER_SECRET.encode() not in data, path
    # the config is the one file that holds them, readable by its owner only
    assert REPO_SECRET in cfg.read_text() and stat.S_IMODE(cfg.stat().st_mode) == 0o600


# --------------------------------------------------------------------------------------------------------
# validate --online: the registry and the chart repository answer, with the credentials given


def _online_config(path: Path, package: Path, registry: str, repo: dict[str, object], auth: str | None) -> Path:
    target: dict[str, object] = {"containerPrefixRegistry": registry, "repo": repo}
    if auth is not None:
        target["containers"] = {"auth": {"username": TEST_USER, "password": auth}}
    path.write_text(json.dumps({"source": {"intermediateBundlesPath": str(package)}, "target": target}))
    return path


def test_validate_online_logs_in_to_the_registry(tmp_path: Path, package: Path, registry_auth: RegistryProcess) -> None:
    host = registry_auth.host
    local = {"kind": "LOCAL", "path": str(tmp_path / "charts")}
    good = _online_config(tmp_path / "good.yaml", package, host, local, TEST_PASSWORD)
    ok = run_cli("config", "validate", str(good), "--online", "--plain-http", env=_env())
    assert ok.code == 0, ok.stdout + ok.stderr
    assert f"ok   registry {host} (http)" in ok.stdout and ok.stdout.strip().endswith(": OK")
    assert f"ok   chart target LOCAL directory {tmp_path / 'charts'}" in ok.stdout
    report = json.loads(
        run_cli("config", "validate", str(good), "--online", "--plain-http", "--json", env=_env()).stdout
    )
    assert report["ok"] is True and [c["status"] for c in report["online"]] == ["ok", "ok"]
    assert report["summary"] == {"problems": 0, "warnings": 0, "online_ok": 2, "online_failed": 0}
    # offline, the same file is only read: a wrong password is not noticed
    wrong = _online_config(tmp_path / "wrong.yaml", package, host, local, "not-it")
    assert run_cli("config", "validate", str(wrong), env=_env()).code == 0
    refused = run_cli("config", "validate", str(wrong), "--online", "--plain-http", env=_env())
    assert refused.code == 2 and "not-it" not in refused.stdout + refused.stderr
    line = next(line for line in refused.stdout.splitlines() if line.startswith("fail"))
    assert line.startswith(f"fail registry {host}: registry {host}: access denied for credentials from wrong.yaml")
    # no credentials at all: the hint names the options validate has
    anonymous = _online_config(tmp_path / "anon.yaml", package, host, local, None)
    none = run_cli("config", "validate", str(anonymous), "--online", "--plain-http", env=_env())
    assert none.code == 2 and "wants a username and password: give --username with --password-stdin" in none.stdout
    # the environment's credentials apply, as in sync
    env = _env(TARGET_CONTAINERS_AUTH_USERNAME=TEST_USER, TARGET_CONTAINERS_AUTH_PASSWORD=TEST_PASSWORD)
    assert run_cli("config", "validate", str(anonymous), "--online", "--plain-http", env=env).code == 0


def test_validate_online_reads_the_chart_repository(tmp_path: Path, package: Path, registry: RegistryProcess) -> None:
    with ChartMuseumDouble(basic_auth=("alice", REPO_SECRET)) as cm:
        repo = {"kind": "CHARTMUSEUM", "url": cm.url, "auth": {"username": "alice", "password": "wrong"}}
        config = _online_config(tmp_path / "cm.yaml", package, registry.host, repo, None)
        refused = run_cli("config", "validate", str(config), "--online", "--plain-http", env=_env())
        assert refused.code == 2, refused.stdout + refused.stderr
        assert f"ok   registry {registry.host} (http)" in refused.stdout
        line = next(line for line in refused.stdout.splitlines() if line.startswith("fail"))
        assert line.startswith(f"fail chart target CHARTMUSEUM {cm.url}") or line.startswith("fail chart target"), line
        assert "credentials refused (HTTP 401) for user 'alice'; check target.repo.auth or TARGET_REPO_AUTH_" in line
        assert "wrong" not in refused.stdout.replace("wrong.yaml", "")
        # the password from the environment wins over the file's, as in sync
        env = _env(TARGET_REPO_AUTH_PASSWORD=REPO_SECRET)
        ok = run_cli("config", "validate", str(config), "--online", "--plain-http", env=env)
        assert ok.code == 0, ok.stdout + ok.stderr
        assert ok.stdout.count("\nok   ") + ok.stdout.startswith("ok   ") == 2, ok.stdout
        assert not [r for r in cm.requests if r.method not in ("GET", "HEAD")]  # it wrote nothing
    # the chart repository is gone: unreachable, said in one line
    gone = run_cli("config", "validate", str(config), "--online", "--plain-http", "--retries", "0", env=env)
    assert gone.code == 2
    assert any(line.startswith("fail chart target") and "unreachable" in line for line in gone.stdout.splitlines())


def test_validate_checks_the_paths_exist(tmp_path: Path) -> None:
    assert "is a directory; give the load-image.yaml file" in run_cli("config", "validate", str(tmp_path)).stderr
    assert (
        f"{tmp_path / 'nope.yaml'}: config file not found"
        in run_cli("config", "validate", str(tmp_path / "nope.yaml")).stderr
    )
    config = tmp_path / "load-image.yaml"
    local = {"kind": "LOCAL", "path": str(tmp_path / "charts")}
    _online_config(config, tmp_path / "skoala_v9.9.9_amd64.tar", "10.6.10.10", local, None)
    missing = run_cli("config", "validate", str(config), env=_env())
    assert missing.code == 2 and "intermediateBundlesPath" in missing.stdout and "no such file" in missing.stdout
