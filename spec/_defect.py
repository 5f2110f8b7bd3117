"""What is wrong with a spec document, as data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class SpecDefect:
    """One defect in the spec document itself.

    ``pointer`` is an RFC 6901 JSON Pointer into the *vendored* document, so a
    report can be matched against the file the vendor publishes.  ``normalised``
    says whether the loader repaired it in the normalised copy.
    """

    rule: str
    pointer: str
    message: str
    severity: Severity = "error"
    normalised: bool = False


class SpecError(Exception):
    """The spec cannot be used at all: unreadable, not OpenAPI, or no Create Avatar operation."""
