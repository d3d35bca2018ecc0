"""What a command works from: the source, the rules, the config and the receipt, and where each came from.

Every command that names targets resolves them here, in one order: rule flags win; else the rules of
``--config load-image.yaml``; else (for commands that read the site: ``values``, ``helm-command``,
``verify``) the rules of the receipt a push, sync or load wrote. The source is the SOURCE argument, else
the config's ``source.intermediateBundlesPath``. Output says which rules were used and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from skoala_airgap.connection.settings import Login
from skoala_airgap.errors import InputError
from skoala_airgap.relocation.rules import RewriteRules
from skoala_airgap.workflows import receipt as receipts
from skoala_airgap.workflows.receipt import Placement, Receipt, describe_rules

if TYPE_CHECKING:
    from skoala_airgap.config.model import Config


@dataclass(frozen=True)
class Inputs:
    source: Path | None
    rules: RewriteRules
    rules_origin: str  # "options", "load-image.yaml <path>", "receipt <path>", "none"
    config: Config | None
    receipt_path: Path | None
    receipt: Receipt | None = None
    placement: Placement | None = None  # the receipt's entry for the registry in question

    @property
    def logins(self) -> tuple[Login, ...]:
        if self.config is None:
            return ()
        from skoala_airgap.workflows.sync import config_logins  # sync pulls in every chart publisher

        return config_logins(self.config)

    def describe(self) -> str:
        return f"rules: {describe_rules(self.rules)} (from {self.rules_origin})"

    def site_registry(self) -> str:
        """The registry the site pulls from: the prefix registry, else the registry rule."""
        return self.rules.prefix_registry or self.rules.registry


def resolve_inputs(
    source: Path | None,
    flag_rules: RewriteRules,
    *,
    config_path: Path | None,
    receipt_path: Path | None,
    read_receipt: bool = False,
    registry_hint: str = "",
    refuse_other_rules: bool = False,
) -> Inputs:
    """``refuse_other_rules``: for commands that point charts at images (``values``, ``helm-command``),
    rules that differ from those the receipt records for the same registry are an input error, since
    the override would name images that were never placed there."""
    config = None
    if config_path is not None:
        if config_path.is_dir():
            raise InputError(f"{config_path}: is a directory; --config names a load-image.yaml file")
        from skoala_airgap.config.reader import load_config  # the config model and its decoder: only with one

        config = load_config(config_path, environ=os.environ)
    if source is None and config is not None:
        source = config.source.intermediate_bundles_path
    path = receipts.default_path(explicit=receipt_path, config=config_path, source=source)
    receipt = placement = None
    if read_receipt and path is not None and (receipt_path is not None or path.is_file()):
        receipt = receipts.load(path)
        placement = receipt.registry(registry_hint)
    if not flag_rules.is_empty:
        rules, origin = flag_rules, "options"
    elif config is not None:
        from skoala_airgap.workflows.sync import config_rules

        rules, origin = config_rules(config), f"load-image.yaml {config_path}"
    elif placement is not None:
        rules, origin = placement.rules, f"receipt {path}"
    else:
        rules, origin = RewriteRules(), "none"
    if refuse_other_rules and placement is not None and rules != placement.rules:
        raise InputError(
            f"{path}: the images at {placement.destination} were placed with {describe_rules(placement.rules)}, "
            f"not {describe_rules(rules)} ({origin}); the override would name images that are not there: "
            "drop the rule options to use the receipt, or place the images with these rules first"
        )
    return Inputs(source, rules, origin, config, path, receipt, placement)
