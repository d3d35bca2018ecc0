"""Bearer token auth (Harbor's token service in front of a real registry), docker credential helpers,
and Harbor's immutable-tag answer."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from fixtures.images import write_images_tar
from tests.doubles.harbor import HarborDouble, HarborProject
from tests.doubles.tokens import registry_token_config
from tests.helpers import run_cli, sample_images
from tests.infra.faulty_proxy import Fault, faulty_proxy
from tests.infra.registry import RegistryProcess, start_registry


def _harbor() -> HarborDouble:
    return HarborDouble(
        {"alice": "a-pass", "bob": "b-pass"},
        {"p1": HarborProject(members={"alice": "developer"}), "p2": HarborProject(members={"bob": "developer"})},
    )


def _env(user: str, password: str) -> dict[str, str]:
    return dict(os.environ, TARGET_CONTAINERS_AUTH_USERNAME=user, TARGET_CONTAINERS_AUTH_PASSWORD=password)


def test_bearer_token_flow(tmp_path: Path) -> None:
    source = write_images_tar(tmp_path / "images.tar", sample_images(tmp_path / "layers", count=2), "ggcr")
    with _harbor() as harbor:
        cert, _ = harbor.signer.write_to(tmp_path / "signer")
        auth = registry_token_config(f"{harbor.url}/service/token", cert)
        with start_registry(tmp_path / "registry", extra_config={"auth": auth}) as registry:
            args = ["push-images", str(source), "--registry", registry.host, "--plain-http", "--json"]
            ok = run_cli(*args, "--repository", "p1/skoala", env=_env("alice", "a-pass"))
            assert ok.code == 0, ok.stderr
            report = json.loads(ok.stdout)
            assert {i["status"] for i in report["images"]} == {"pushed"}
            # The token service was asked per repository scope, with alice's Basic credentials.
            tokens = [r for r in harbor.received if r.path == "/service/token"]
            assert tokens and all((r.header("Authorization") or "").startswith("Basic ") for r in tokens)
            assert any("repository:p1/skoala/app0:" in str(r.query) for r in tokens)
            # alice may not push into bob's project: the registry refuses her token.
            denied = run_cli(*args, "--repository", "p2/skoala", env=_env("alice", "a-pass"))
            assert denied.code != 0
            assert "a-pass" not in denied.stderr + denied.stdout
            # A wrong password is refused by the token service: exit 2, one line.
            wrong = run_cli(*args, "--repository", "p1/skoala", env=_env("alice", "nope"))
            assert wrong.code == 2, wrong.stderr
            assert len(wrong.stderr.strip().splitlines()) == 1 and "nope" not in wrong.stderr


def test_docker_credential_helper(tmp_path: Path, registry_auth: RegistryProcess) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-fake"
    log = tmp_path / "helper.log"
    answer = json.dumps({"ServerURL": registry_auth.host, "Username": registry_auth.username, "Secret": "SECRET"})
    answer = answer.replace("SECRET", str(registry_auth.password))
    helper.write_text(f"#!/bin/sh\nread server; echo \"$1 $server\" >> {log}\necho '{answer}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"credHelpers": {registry_auth.host: "fake"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_CONTAINERS_AUTH")}
    env.update(DOCKER_CONFIG=str(config), PATH=f"{bin_dir}:{env['PATH']}")
    source = write_images_tar(tmp_path / "images.tar", sample_images(tmp_path / "layers", count=1), "oci")
    args = ["push-images", str(source), "--registry", registry_auth.host, "--plain-http"]
    result = run_cli(*args, "--prefix-repository", "helper", env=env)
    assert result.code == 0, result.stderr
    assert log.read_text().split() == ["get", registry_auth.host]


def test_immutable_tag_is_named(tmp_path: Path, registry: RegistryProcess) -> None:
    source = write_images_tar(tmp_path / "images.tar", sample_images(tmp_path / "layers", count=1), "ggcr")
    fault = Fault("PUT", "/manifests/v", 412, times=10)
    with faulty_proxy(registry.host, [fault]) as proxy:
        args = ["push-images", str(source), "--registry", proxy.host, "--plain-http", "--json"]
        result = run_cli(*args, "--prefix-repository", "immutable")
    assert result.code == 1
    errors = [i["error"] for i in json.loads(result.stdout)["images"] if i["error"]]
    assert errors and all("immutable" in e for e in errors)
