"""The YAML safe loader every chart reader uses: libyaml's parser when PyYAML has it.

PyYAML's pure-Python scanner was the largest single cost of a warm ``push-images`` after imports
(27 ms of 60 for one chart's values files, cProfile); libyaml parses the same files several times
faster and builds the same Python objects (SafeConstructor and the resolvers stay in Python).
"""

from __future__ import annotations

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(data: bytes | str) -> object:
    return yaml.load(data, Loader=SafeLoader)  # SafeLoader is a safe loader


def first_document(data: bytes | str) -> object:
    """The first document of a YAML stream (the later ones are not parsed)."""
    loader = SafeLoader(data)
    try:
        return loader.get_data() if loader.check_data() else None  # type: ignore[no-untyped-call]
    finally:
        loader.dispose()
