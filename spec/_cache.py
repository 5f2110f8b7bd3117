"""A disk cache of loaded specs, so a one-file lint call skips YAML and normalisation.

A pre-commit hook or an editor runs ``avatar-contract lint`` once per save: reading
the YAML (and importing PyYAML) and normalising the document were a third of its
start-up.  The cache keeps what :func:`load_spec` computes (the document as
published, the normalised copy, the defects and the operation's route) as one JSON
file, keyed by a digest of the spec's bytes *and* of this package's loader code, so
an edited spec or a newer loader never meets a stale entry.

Where: ``$AVATAR_CONTRACT_CACHE_DIR``, else ``$XDG_CACHE_HOME/avatar-contract``, else
``~/.cache/avatar-contract``.  ``AVATAR_CONTRACT_NO_CACHE=1`` turns it off.  The cache
is an optimisation only: a directory that cannot be written, a corrupt or foreign
entry, or a document JSON cannot hold exactly (YAML dates, NaN) falls back to the
ordinary load, never to an error.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from ._defect import SpecDefect

FORMAT = 1
# Each distinct spec (or loader) leaves one entry; beyond this many, the oldest go.
MAX_ENTRIES = 32
# The loader's own code is part of the key: a change to normalisation invalidates every entry.
_CODE = ("_loader.py", "_normalise.py", "_defect.py", "_cache.py")


def cache_dir() -> Path | None:
    if os.environ.get("AVATAR_CONTRACT_NO_CACHE", "") not in ("", "0"):
        return None
    configured = os.environ.get("AVATAR_CONTRACT_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "avatar-contract"


def _code_digest() -> bytes:
    digest = hashlib.sha256(str(FORMAT).encode())
    here = Path(__file__).parent
    for name in _CODE:
        try:
            digest.update((here / name).read_bytes())
        except OSError:  # an unusual install without sources: the version stands in for them
            digest.update(name.encode())
    return digest.digest()


def key(spec_bytes: bytes) -> str:
    return hashlib.sha256(_code_digest() + spec_bytes).hexdigest()


def read(entry_key: str) -> dict[str, Any] | None:
    """The cached load for ``entry_key``, or None when absent or unusable."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        data = orjson.loads((folder / f"spec-{entry_key}.json").read_bytes())
        if data.get("key") != entry_key:
            return None
        data["defects"] = tuple(SpecDefect(**d) for d in data["defects"])
        return dict(data)
    except (OSError, orjson.JSONDecodeError, TypeError, KeyError, AttributeError):
        return None


def write(entry_key: str, loaded: Mapping[str, Any]) -> None:
    """Store a load; silently does nothing when it cannot be stored exactly."""
    folder = cache_dir()
    if folder is None:
        return
    entry = {
        "key": entry_key,
        "raw": loaded["raw"],
        "document": loaded["document"],
        "defects": [asdict(d) for d in loaded["defects"]],
        "path": loaded["path"],
        "method": loaded["method"],
    }
    try:
        # No datetime/dataclass conversion: a value JSON cannot hold raises, and then
        # the round trip must give the same document back (NaN, for one, does not).
        blob = orjson.dumps(entry, option=orjson.OPT_PASSTHROUGH_DATETIME)
        if orjson.loads(blob) != entry:
            return
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".spec-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(blob)
            os.replace(temporary, folder / f"spec-{entry_key}.json")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _prune(folder)
    except (OSError, TypeError, orjson.JSONEncodeError):
        return


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("spec-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for stale in entries[MAX_ENTRIES:]:
        stale.unlink(missing_ok=True)
