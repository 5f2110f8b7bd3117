"""Request bodies: parsed, checked by the validators, with constraint faults applied.

The emulator does not re-implement the schema: the verdict comes from
``validators`` (the same code the linter and the suite use), so the 400s agree
with the spec by construction.  A "constraint not enforced" fault is modelled
by discarding exactly the findings that constraint produces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from avatar_contract.validators import Finding, Linter

from ._json import NotJSON, loads
from ._params import param_for

DEFAULT_NAME = "Untitled avatar"

_Ignore = Callable[[Finding], bool]

# fault -> the findings a server with that bug would never produce.
_UNENFORCED: dict[str, _Ignore] = {
    "max_items_unenforced": lambda f: f.rule == "schema.maxItems",
    "max_length_unenforced": lambda f: f.rule == "schema.maxLength",
    # Only the asset schemas are closed, so this is "additionalProperties in assets".
    "asset_extra_fields_allowed": lambda f: f.rule == "schema.additionalProperties",
    "required_field_unenforced": lambda f: f.rule == "schema.required" and f.path == "/name",
}


@dataclass(frozen=True, slots=True)
class Accepted:
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    message: str
    param: str | None


class BodyChecker:
    def __init__(self, linter: Linter, faults: frozenset[str]) -> None:
        self._linter = linter
        self._verdict = linter.contract.request.verdict
        self._ignored = tuple(rule for name, rule in _UNENFORCED.items() if name in faults)
        self._default_name = "required_field_unenforced" in faults

    def _schema_valid(self, value: Any) -> bool:
        try:
            return bool(self._verdict.is_valid(value))
        except Exception:  # values jsonschema-rs cannot take (lone surrogates): the linter decides
            return False

    def check(self, raw: bytes) -> Accepted | Rejected:
        if not raw.strip():
            return Rejected("a JSON request body is required", None)
        try:
            value = loads(raw)
        except NotJSON as exc:
            return Rejected(str(exc), None)
        if self._schema_valid(value):
            # The verdict is the whole schema's (what the linter's own report.valid
            # says); warnings are no concern of a server, and computing them for a
            # body with a million unknown fields takes seconds.
            return Accepted(value) if isinstance(value, dict) else Rejected(
                "the request body must be a JSON object", None)
        errors = [f for f in self._linter.lint_request(value).errors
                  if not any(ignore(f) for ignore in self._ignored)]
        if errors:
            first = errors[0]
            message = first.message if not first.hint else f"{first.message} ({first.hint})"
            param = param_for(first.path, value)
            if len(errors) > 1:
                message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
            return Rejected(f"{param}: {message}" if param else message, param)
        if not isinstance(value, dict):  # only reachable if a fault hid the type error
            return Rejected("the request body must be a JSON object", None)
        if self._default_name and not isinstance(value.get("name"), str):
            value = {**value, "name": DEFAULT_NAME}
        return Accepted(value)
