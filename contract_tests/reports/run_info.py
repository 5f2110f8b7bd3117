"""What a report says about the run itself: tool and spec versions, the spec's hash, when."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ..targets.suite_spec import suite_spec


def tool_version() -> str:
    try:
        return metadata.version("avatar-contract")
    except metadata.PackageNotFoundError:
        return "unknown"


def shown_path(source: str) -> str:
    """A spec's path as a report shows it: relative to the working directory when
    inside it, else the file name alone (a report never names the machine's layout)."""
    path = Path(source)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return path.name


@dataclass(frozen=True)
class RunInfo:
    tool_version: str
    spec_source: str
    spec_version: str  # the spec's info.version
    spec_sha256: str  # of the file as published, so "which spec?" has an exact answer
    started_at: str  # ISO 8601, UTC, to the second

    @classmethod
    def collect(cls, started: datetime | None = None) -> RunInfo:
        spec = suite_spec()
        try:
            digest = hashlib.sha256(Path(spec.source).read_bytes()).hexdigest()
        except OSError:
            digest = "unreadable"
        when = (started or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        stamp = when.isoformat().replace("+00:00", "Z")
        return cls(tool_version(), shown_path(spec.source), spec.version, digest, stamp)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
