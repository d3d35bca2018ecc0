"""Read a charts-syncer ``load-image.yaml`` / ``charts-syncer.yaml`` the way DaoCloud charts-syncer does,
reporting every problem with its line; we reject a few things charts-syncer silently accepts
(docs/config.md, "Decisions").
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from skoala_airgap.config.decode import Decoder
from skoala_airgap.config.environment import Environment
from skoala_airgap.config.model import Config
from skoala_airgap.config.select import require_rewrite_rule
from skoala_airgap.config.validate import Validation
from skoala_airgap.errors import ConfigError

_CONFIG_NAME = "charts-syncer.yaml"
# viper tries "<name>.<ext>" for each extension it supports before the bare name; we read only YAML/JSON ones.
_CONFIG_CANDIDATES = (f"{_CONFIG_NAME}.json", f"{_CONFIG_NAME}.yaml", f"{_CONFIG_NAME}.yml", _CONFIG_NAME)


class _Reader(Decoder, Environment, Validation):
    """Decode, apply defaults and environment, validate: one pass, every problem."""

    def read(self) -> tuple[Config | None, list[ConfigError]]:
        root = self.compose()
        if root is None:
            return None, self.errors
        config = self.decode(root)
        if config is not None:
            config = self.apply_env(self.apply_defaults(config))
            self.validate(config)
            config = dataclasses.replace(config, warnings=tuple(self.warnings), lines=dict(self.lines))
        errors = self.sorted_errors()
        return (None if errors else config), errors


def find_config(explicit: Path | None, *, home: Path, cwd: Path) -> Path:
    """The config file to read: ``--config`` wins, else charts-syncer.yaml in $HOME, then the cwd (as viper)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(str(explicit), "config file not found")
        return explicit
    for directory in (home, cwd):
        for name in _CONFIG_CANDIDATES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    raise ConfigError(_CONFIG_NAME, f"no config file: pass --config, or put {_CONFIG_NAME} in $HOME or ./")


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Load, default, apply env credentials and validate; raise the first problem (by line) as ConfigError."""
    config, errors = _Reader(path, os.environ if environ is None else environ).read()
    if errors:
        raise errors[0]
    assert config is not None
    return config


def validate_config(
    path: Path, *, environ: Mapping[str, str] | None = None, skip_images: bool | None = None
) -> list[ConfigError]:
    """Every problem in the file, in line order (for ``config validate``); empty when the config is good.

    ``skip_images`` given as False also checks that a rewrite rule is present (``require_rewrite_rule``).
    """
    config, errors = _Reader(path, os.environ if environ is None else environ).read()
    if config is not None and skip_images is not None:
        try:
            require_rewrite_rule(config, skip_images)
        except ConfigError as exc:
            errors.append(exc)
    return errors
