"""Messages (issue 12): one line, cause first, in our words; hints name only options that exist; the
credential source is named as the user gave it (options, environment, file).

``test_every_hint_names_an_option_of_its_command`` reads every string of the package (docstrings, option
declarations and help texts aside) and checks each ``--option`` it mentions against the commands that
can show it: ``HINTS`` maps modules (or ``module:function``) to those commands. A hint written as
``sync --skip-images`` or ``skoala-airgap --generate-config`` is checked against the command it names.
A new module with such a hint fails until it is added to the table.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
from pathlib import Path

import click
import pytest

from fixtures.bundles import OfflinePackage, write_offline_package
from skoala_airgap.cli.main import cli
from tests.conftest import TEST_PASSWORD, TEST_USER
from tests.helpers import run_cli
from tests.infra.registry import RegistryProcess

PACKAGE = Path(__file__).resolve().parent.parent / "skoala_airgap"
FLAG = re.compile(r"(?:(?P<before>[a-z][a-z-]*) )?(?P<flag>(?<![\w-])--[a-z][a-z0-9-]*)")

REGISTRY_COMMANDS = ["push-images", "sync", "verify", "config validate"]  # connection options: TLS, logins
SOURCE_COMMANDS = ["push-images", "load", "verify", "values", "helm-command"]  # SOURCE and rule options
# module, package or module:function -> the commands that can show its messages ("" is the top level)
HINTS: dict[str, list[str]] = {
    "cli/main.py": [""],
    "cli/compat.py": ["sync"],
    "cli/config_cmd.py:init_command": ["config init"],
    "cli/config_cmd.py:validate_command": ["config validate"],
    "cli/context.py:open_input_source": SOURCE_COMMANDS,
    "cli/context.py:verify_checksum": ["push-images"],
    "cli/helm_cmd.py": ["helm-command"],
    "cli/load_cmd.py": ["load"],
    "cli/options.py:connection_from": REGISTRY_COMMANDS,
    "cli/options.py:_username_source": REGISTRY_COMMANDS,
    "cli/options.py:rules_from": ["push-images", "verify"],  # --plain-http is said only where it exists
    "cli/push_cmd.py": ["push-images"],
    "cli/sync_cmd.py": ["sync"],
    "cli/values_cmd.py": ["values"],
    "cli/verify_cmd.py": ["verify"],
    "config/reader.py": ["sync"],
    "config/template.py": ["config init"],
    "config/template.py:render_config": ["sync"],  # comments in the written file describe sync's options
    "config/validate.py": ["sync", "config validate"],
    "connection": REGISTRY_COMMANDS,
    "destinations/connect.py": REGISTRY_COMMANDS,
    "destinations/charts": ["sync"],
    "destinations/harbor_api.py": ["sync", "push-images"],  # the Harbor preflight of both
    "doctor": ["doctor"],
    "engine/push.py": ["push-images"],  # --no-overwrite: sync always moves tags, so it never sees this
    "relocation/chart.py": ["sync"],
    "relocation/plan.py": ["push-images", "load", "verify"],
    "sources/package.py": ["push-images", "inspect"],
    "sources/platform.py": ["push-images", "sync"],
    "workflows/helm.py": ["helm-command"],
    "workflows/helm.py:rule_arguments": ["values"],  # the arguments of the printed `skoala-airgap values`
    "workflows/inputs.py": SOURCE_COMMANDS,
    "workflows/inspect.py": ["inspect"],
    "workflows/load.py": ["load"],
    "workflows/preflight.py": ["sync", "push-images"],
    "workflows/receipt.py": ["values", "helm-command", "verify"],
    "workflows/unpack.py": ["unpack"],
    "workflows/values.py": ["values"],
    "workflows/values.py:site_prefix": ["values", "helm-command"],
    "workflows/verify.py": ["verify"],
}
# Strings that hold the printed `skoala-airgap values ...` lines of helm-command's script: each option
# belongs to one of the commands named.
SCRIPTS = {"workflows/helm.py:upgrade_script": ["helm-command", "values"]}
# Options of other programs, passed on their command lines.
EXTERNAL = {
    "destinations/runtime/containerd.py": {"--address", "--namespace", "--no-unpack"},  # ctr
    "workflows/helm.py:_upgrade": {"--version"},  # helm upgrade
}


def _commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    out: dict[str, click.Command] = {"": cli}

    def walk(group: click.Group, prefix: str) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            path = f"{prefix} {name}".strip()
            out[path] = command
            if isinstance(command, click.Group):
                walk(command, path)

    walk(cli, "")
    return out


def _options(command: click.Command) -> set[str]:
    names = {opt for p in command.params for opt in (*getattr(p, "opts", []), *getattr(p, "secondary_opts", []))}
    return names | {"--help"}


def _hint_strings(path: Path) -> list[tuple[str, int, str]]:
    """(function, line, text) of every string constant that is not a docstring, option declaration or help."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Expr):
            continue  # docstring
        if isinstance(parent, ast.keyword) and parent.arg == "help":
            continue
        if isinstance(parent, ast.Call) and getattr(parent.func, "attr", "") in ("option", "argument"):
            continue  # the declaration itself
        function = parent
        while function is not None and not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = parents.get(function)
        out.append((function.name if function else "<module>", node.lineno, node.value))
    return out


def _lookup(table: dict[str, list[str]], module: str, function: str) -> list[str] | None:
    if f"{module}:{function}" in table:
        return table[f"{module}:{function}"]
    parts = module.split("/")
    for n in range(len(parts), 0, -1):
        key = "/".join(parts[:n])
        if key in table:
            return table[key]
    return None


def test_every_hint_names_an_option_of_its_command() -> None:
    commands = _commands()
    options = {name: _options(command) for name, command in commands.items()}
    wrong, unmapped = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = str(path.relative_to(PACKAGE))
        for function, line, text in _hint_strings(path):
            for match in FLAG.finditer(text):
                flag, before = match["flag"], match["before"] or ""
                where = f"{module}:{line} ({function}) {flag}"
                if flag in EXTERNAL.get(f"{module}:{function}", set()) | EXTERNAL.get(module, set()):
                    continue
                if before and (before in commands or before == "skoala-airgap"):  # "sync --force", "skoala-airgap --x"
                    named = "" if before == "skoala-airgap" else before
                    if flag not in options[named]:
                        wrong.append(f"{where}: `{before} {flag}` does not exist")
                    continue
                scripts = _lookup(SCRIPTS, module, function)
                if scripts is not None:
                    if not any(flag in options[c] for c in scripts):
                        wrong.append(f"{where}: none of {scripts} has it")
                    continue
                users = _lookup(HINTS, module, function)
                if users is None:
                    unmapped.append(where)
                    continue
                missing = [c or "skoala-airgap" for c in users if flag not in options[c]]
                if missing:
                    wrong.append(f"{where}: not an option of {', '.join(missing)}")
    assert not unmapped, "say in HINTS which commands show these messages:\n" + "\n".join(unmapped)
    assert not wrong, "hints naming options that do not exist:\n" + "\n".join(wrong)


def test_the_table_names_only_real_commands() -> None:
    commands = _commands()
    for users in [*HINTS.values(), *SCRIPTS.values()]:
        assert set(users) <= set(commands), users


# -- the messages themselves -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> OfflinePackage:
    return write_offline_package(tmp_path_factory.mktemp("ux-messages"), layer_size=2048, seed=5)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARGET_", "SOURCE_", "REGISTRY_AUTH"))}
    return {**env, **extra}


def _error(stderr: str) -> str:
    """The run's error: exactly one line, ``skoala-airgap: error: ...``, never a traceback."""
    errors = [line for line in stderr.splitlines() if line.startswith("skoala-airgap: error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0].removeprefix("skoala-airgap: error: ")


def test_tls_cause_first_with_the_fix(package: OfflinePackage, registry_tls: RegistryProcess) -> None:
    host = registry_tls.host
    result = run_cli("push-images", str(package.path), "--registry", host, env=_env())
    assert result.code == 2
    assert _error(result.stderr).startswith(
        f"TLS: certificate signed by unknown authority ({host}); use --ca-file or /etc/docker/certs.d/{host}/ca.crt;"
    ), result.stderr


def test_plain_http_hint_only_where_the_option_exists(package: OfflinePackage) -> None:
    pushed = run_cli("push-images", str(package.path), "--registry", "http://10.6.10.10", env=_env())
    assert pushed.code == 2 and _error(pushed.stderr).endswith("(no scheme); use --plain-http for HTTP")
    loaded = run_cli("load", str(package.path), "--runtime", "podman", "--registry", "http://10.6.10.10", env=_env())
    assert loaded.code == 2 and "--plain-http" not in loaded.stderr  # load has no such option
    assert _error(loaded.stderr) == '--registry "http://10.6.10.10": give a bare host[:port] (no scheme)'


def test_credential_source_is_named_as_given(
    tmp_path: Path, package: OfflinePackage, registry_auth: RegistryProcess
) -> None:
    host = registry_auth.host
    base = ["push-images", str(package.path), "--registry", host, "--plain-http", "-q"]
    missing = run_cli(*base, env=_env())
    assert missing.code == 2
    assert _error(missing.stderr).startswith(
        f"registry {host} wants a username and password: give --username with --password-stdin, "
        "TARGET_CONTAINERS_AUTH_USERNAME/PASSWORD, --authfile, or docker login (GET "
    )
    bad = "not-the-password"
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {host: {"auth": base64.b64encode(f"{TEST_USER}:{bad}".encode()).decode()}}}))
    config = tmp_path / "site.yaml"
    target = {"containerRegistry": host, "containers": {"auth": {"username": TEST_USER, "password": bad}}}
    target["repo"] = {"kind": "LOCAL", "path": str(tmp_path / "charts")}
    config.write_text(json.dumps({"source": {"intermediateBundlesPath": str(package.path)}, "target": target}))
    both_env = {"TARGET_CONTAINERS_AUTH_USERNAME": TEST_USER, "TARGET_CONTAINERS_AUTH_PASSWORD": bad}
    cases = [
        (base, _env(**both_env), None, "TARGET_CONTAINERS_AUTH_USERNAME and TARGET_CONTAINERS_AUTH_PASSWORD"),
        (
            [*base, "--username", TEST_USER],
            _env(TARGET_CONTAINERS_AUTH_PASSWORD=bad),
            None,
            "--username and TARGET_CONTAINERS_AUTH_PASSWORD",
        ),
        ([*base, "--username", TEST_USER, "--password-stdin"], _env(), bad + "\n", "--username and --password-stdin"),
        ([*base, "--authfile", str(auth)], _env(), None, f"{auth} (--authfile)"),
        (
            ["sync", "--config", str(config), "--plain-http"],
            _env(),
            None,
            "site.yaml target.containers.auth (or TARGET_CONTAINERS_AUTH_USERNAME/PASSWORD)",
        ),
    ]
    for args, env, stdin, source in cases:
        result = run_cli(*args, env=env, stdin=stdin)
        assert result.code == 2, (args, result.stderr)
        message = _error(result.stderr)
        assert message.startswith(f"registry {host}: access denied for credentials from {source} (GET "), message
        assert message.endswith("/v2/: HTTP 401 UNAUTHORIZED)") and bad not in result.stderr, message
    good = run_cli(
        *base, env=_env(TARGET_CONTAINERS_AUTH_USERNAME=TEST_USER, TARGET_CONTAINERS_AUTH_PASSWORD=TEST_PASSWORD)
    )
    assert good.code == 0, good.stderr
