"""Which spec the suite holds targets to: the vendored one unless ``--spec`` names another.

One process-wide choice, because schemathesis checks and hypothesis strategies are
module-level; every place that needs the spec asks here, so a newer spec changes
the generated cases, the oracle and the in-process emulator together.
"""

from __future__ import annotations

import os

from avatar_contract.spec import Spec, load_spec

ENV = "AVATAR_CONTRACT_SPEC"
_active: str | None = os.environ.get(ENV) or None


def use_spec(path: str | os.PathLike[str] | None) -> Spec:
    """Select the spec (``None``: the vendored one); raises ``SpecError`` if unusable."""
    global _active
    chosen = os.fspath(path) if path is not None else None
    loaded = load_spec(chosen)
    _active = chosen
    return loaded


def spec_path() -> str | None:
    return _active


def suite_spec() -> Spec:
    return load_spec(_active)
