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
from tests.helpers import CliResult, run_cli

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
    answers = "\n".join(
        ["harbor", "./offline", "https://10.6.10.10/chartrepo/skoala", SITE, "", "admin", REPO_SECRET, REPO_SECRET, ""]
    )
    result = CliRunner().invoke(cli, ["config", "init", "-o", str(out)], input=answers + "\n")
    assert result.exit_code == 0, result.output
    assert REPO_SECRET not in result.output
    config = load_config(out, environ={})
    assert config.target.repo is not None and config.target.repo.auth is not None
    assert config.target.repo.auth.password == REPO_SECRET and config.target.container_registry == SITE
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


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
