"""errors.code under strict: a code the spec states is required; a code only an example shows is advice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from avatar_contract.spec import vendored_spec_path
from avatar_contract.validators import Linter

WRONG = {"error": {"code": "invalid_parameter_value", "message": "bad", "param": None}}


def _const(doc: dict[str, Any]) -> None:
    doc["components"]["schemas"]["StandardAPIError"]["properties"]["code"]["const"] = "invalid_parameter"


def _prose(doc: dict[str, Any]) -> None:
    doc["paths"]["/v3/avatars"]["post"]["responses"]["400"]["description"] = \
        "Invalid request parameters. The error code is invalid_parameter."


def _untouched(doc: dict[str, Any]) -> None:
    pass


@pytest.mark.parametrize(("edit", "severity"), [(_const, "error"), (_prose, "error"), (_untouched, "warning")],
                         ids=["const", "prose", "example-only"])
def test_a_400_code_is_asserted_only_where_the_spec_states_it(tmp_path: Path, edit: Any, severity: str) -> None:
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    report = Linter(path).lint_response(400, WRONG, strict=True)
    [finding] = [f for f in report.findings if f.rule == "errors.code"]
    assert finding.severity == severity, finding
    assert ("an example, not a requirement" in finding.message) is (severity == "warning")
