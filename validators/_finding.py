"""Findings and reports: what the linter says about one payload."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import msgspec

Severity = Literal["error", "warning"]


class Finding(msgspec.Struct, frozen=True, gc=False):
    """One thing wrong with (or suspicious about) a payload.

    ``error`` means the schema is violated, so a conforming server must reject
    the payload; ``warning`` means it passes the schema but will not work as
    intended.  ``path`` is an RFC 6901 JSON Pointer into the payload (``""`` is
    the root); ``schema_path`` points into the normalised spec document.
    """

    # A msgspec Struct, not a dataclass: findings are built on the linter's
    # hot path, and a Struct is built in C (~20x cheaper than a frozen
    # dataclass).  It keeps the same positional fields, equality, hash and
    # immutability.  gc=False: a finding holds only strings, so it can never
    # be part of a reference cycle.
    severity: Severity
    path: str
    rule: str
    message: str
    hint: str | None = None
    keyword: str | None = None
    schema_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The documented, stable JSON shape (``--format json``)."""
        return {
            "severity": self.severity,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
            "hint": self.hint,
        }


class Report:
    """All findings for one payload; ``valid`` is true when none is an error."""

    __slots__ = ("findings",)

    findings: tuple[Finding, ...]

    def __init__(self, findings: Iterable[Finding] = ()) -> None:
        _set_findings(self, tuple(findings))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Report is immutable")

    @property
    def valid(self) -> bool:
        return all(f.severity != "error" for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Report) and other.findings == self.findings

    def __hash__(self) -> int:
        return hash(self.findings)

    def __repr__(self) -> str:
        return f"Report(valid={self.valid}, findings={list(self.findings)!r})"

    def rules(self) -> set[str]:
        return {f.rule for f in self.findings}

    def at(self, path: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.path == path)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "findings": [f.to_dict() for f in self.findings]}

    def raise_for_errors(self) -> None:
        if not self.valid:
            raise ContractViolation(self)


_set_findings = Report.__dict__["findings"].__set__


class LazyReport(Report):
    """A report of an invalid payload whose findings are made on first read.

    The native core hands back compact records; turning them into findings
    (and messages) costs more than finding them, so it waits until someone
    looks.  ``valid`` needs no findings: a lazy report always has an error.
    """

    __slots__ = ("_found", "_pending")
    _found: tuple[Finding, ...]
    _pending: tuple[Any, ...]

    def __init__(self, make: Callable[..., tuple[Finding, ...]], *args: Any) -> None:
        """The findings will be ``make(*args)``."""
        _set_pending(self, (make, *args))

    @property
    def findings(self) -> tuple[Finding, ...]:  # type: ignore[override]  # a property over Report's slot
        pending = self._pending
        if pending:
            found: tuple[Finding, ...] = pending[0](*pending[1:])
            _set_found(self, found)
            _set_pending(self, ())
            return found
        return self._found

    @property
    def valid(self) -> bool:
        return False


_set_found = LazyReport.__dict__["_found"].__set__
_set_pending = LazyReport.__dict__["_pending"].__set__


class ContractViolation(ValueError):
    """Raised by the ``validate_*`` functions; carries the whole report."""

    def __init__(self, report: Report) -> None:
        self.report = report
        first = report.errors[0]
        more = len(report.errors) - 1
        tail = f" (and {more} more)" if more else ""
        where = first.path or "(root)"
        super().__init__(f"{where}: {first.message}{tail}")

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.report.findings


CLEAN = Report()
