"""Each package's public surface is exactly its __all__, and everything listed exists."""

from __future__ import annotations

import importlib

import pytest

_LINTER = {
    "Contract", "ContractViolation", "Finding", "Linter", "NotJSON", "Report", "Severity",
    "audit_spec", "check_idempotency_key", "check_retry_after", "contract_for",
    "default_linter", "lint_backend", "lint_request", "lint_response", "parse_json", "validate_idempotency_key",
    "validate_request", "validate_response",
}
EXPECTED = {
    "avatar_contract.spec": {
        "SPEC_URI", "Severity", "Spec", "SpecDefect", "SpecElement", "SpecError", "defined_at", "element_kinds",
        "from_pointer", "load_spec", "node_at", "normalise", "spec_elements", "split_sentences", "to_pointer",
        "vendored_spec_path",
    },
    "avatar_contract.emulator": {
        "DEFAULT_API_KEY", "DEFAULT_RATE_LIMIT", "FAULTS", "Clock", "Emulator", "EmulatorConfig",
        "Fault", "Group", "Look", "ManualClock", "create_app", "parse_rate_limit",
    },
    "avatar_contract.validators": _LINTER,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_all_is_exact(name: str) -> None:
    module = importlib.import_module(name)
    assert set(module.__all__) == EXPECTED[name]
    public = {n for n in vars(module) if not n.startswith("_")}
    submodules = {n for n in public if type(getattr(module, n)).__name__ == "module"}
    assert public - submodules - {"annotations"} == EXPECTED[name]
    for attr in module.__all__:
        assert getattr(module, attr) is not None


def test_validators_never_import_the_emulator() -> None:
    import subprocess
    import sys

    code = ("import avatar_contract.validators as v, sys; v.lint_request(b'{}'); "
            "print(any(m.startswith('avatar_contract.emulator') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_top_level_reexports_the_linter_lazily() -> None:
    import subprocess
    import sys

    import avatar_contract
    import avatar_contract.validators as validators

    assert set(avatar_contract.__all__) == _LINTER
    for name in _LINTER:
        assert getattr(avatar_contract, name) is getattr(validators, name)
    code = "import avatar_contract, sys; print('avatar_contract.validators' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

