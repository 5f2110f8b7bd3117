"""Which spec the suite holds targets to: the vendored one unless ``--spec`` names another.

One process-wide choice, because schemathesis checks and hypothesis strategies are
module-level; every place that needs the spec asks here, so a newer spec changes
the generated cases, the oracle and the in-process emulator together.

The order is the usual one: the command line (``verify --spec``,
``pytest --contract-spec``), then ``AVATAR_CONTRACT_SPEC``, then the vendored spec.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from avatar_contract.spec import Spec, SpecError, load_spec

ENV = "AVATAR_CONTRACT_SPEC"
_active: str | None = None
_chosen = False  # until use_spec() runs, the environment decides
_pinned: Spec | None = None  # see pinned_spec()


def spec_from_environment(given: str | os.PathLike[str] | None = None) -> str | None:
    """The spec path to use: ``given``, else ``AVATAR_CONTRACT_SPEC``, else None (vendored)."""
    if given is not None:
        return os.fspath(given)
    return os.environ.get(ENV, "").strip() or None


def use_spec(path: str | os.PathLike[str] | None) -> Spec:
    """Select the spec (``None``: ``AVATAR_CONTRACT_SPEC`` or the vendored one).

    Raises ``SpecError`` if unusable; one that came from the environment says so.
    """
    global _active, _chosen
    chosen = spec_from_environment(path)
    try:
        loaded = load_spec(chosen)
    except SpecError as exc:
        if path is None and chosen is not None:
            raise SpecError(f"{exc} (from {ENV}; unset it or pass a usable spec)") from None
        raise
    _active, _chosen = chosen, True
    return loaded


def spec_path() -> str | None:
    return _active if _chosen else spec_from_environment()


def suite_spec() -> Spec:
    return _pinned if _pinned is not None else load_spec(spec_path())


@contextmanager
def pinned_spec() -> Iterator[Spec]:
    """The spec loaded once for a long judging loop (check-traffic, the proxy): ``load_spec`` looks
    at the file on every call so that an edited spec is picked up, which costs more than judging."""
    global _pinned
    outer = _pinned
    _pinned = suite_spec()
    try:
        yield _pinned
    finally:
        _pinned = outer
