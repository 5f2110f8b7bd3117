"""``spec diff --corpus``: lint each payload under both specs and keep those whose outcome changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._cli import UsageError
from ._finding import Report
from ._linter import Linter

_MAX_FILE = 256 * 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    """What the linter says about one payload: the verdict and (severity, path, rule) of each finding."""

    valid: bool
    findings: tuple[tuple[str, str, str], ...]

    @classmethod
    def of(cls, report: Report) -> Outcome:
        return cls(report.valid, tuple(sorted({(f.severity, f.path, f.rule) for f in report.findings})))

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid,
                "findings": [{"severity": s, "path": p, "rule": r} for s, p, r in self.findings]}


@dataclass(frozen=True)
class PayloadChange:
    source: str
    old: Outcome
    new: Outcome

    @property
    def gone(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(f for f in self.old.findings if f not in self.new.findings)

    @property
    def came(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(f for f in self.new.findings if f not in self.old.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "old": self.old.to_dict(), "new": self.new.to_dict()}


@dataclass(frozen=True)
class CorpusDiff:
    path: str
    payloads: int
    changed: tuple[PayloadChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "payloads": self.payloads,
                "changed": [c.to_dict() for c in self.changed]}


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except OSError as exc:
        raise UsageError(f"avatar-contract spec diff: cannot read corpus file {path}: "
                         f"{exc.strerror or exc}") from None
    if len(data) > _MAX_FILE:
        raise UsageError(f"avatar-contract spec diff: corpus file {path} is larger than {_MAX_FILE} bytes")
    return data


def payloads(corpus: str) -> Iterator[tuple[str, bytes]]:
    """(source, raw body) for a directory of *.json / *.ndjson files, one .ndjson file or one JSON file."""
    root = Path(corpus)
    if root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".ndjson"))
        if not files:
            raise UsageError(f"avatar-contract spec diff: no *.json or *.ndjson files in corpus {corpus}"
                             " (give a directory of payloads or an .ndjson file)")
    elif root.exists():
        files = [root]
    else:
        raise UsageError(f"avatar-contract spec diff: corpus {corpus} does not exist")
    for path in files:
        data = _read(path)
        if path.suffix == ".ndjson":
            for number, line in enumerate(data.splitlines(), start=1):
                if line.strip():
                    yield f"{path}:{number}", line
        else:
            yield str(path), data


def diff_corpus(old: Linter, new: Linter, corpus: str) -> CorpusDiff:
    count = 0
    changed = []
    for source, body in payloads(corpus):
        count += 1
        before, after = Outcome.of(old.lint_request(body)), Outcome.of(new.lint_request(body))
        if before != after:
            changed.append(PayloadChange(source, before, after))
    return CorpusDiff(corpus, count, tuple(changed))
