"""EmulatorConfig and the fault catalogue: defaults that work, and loud refusals."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from avatar_contract.emulator import DEFAULT_API_KEY, FAULTS, EmulatorConfig, Fault, create_app, parse_rate_limit

# The contract suite's clause names (issue 4); every fault must break one of them.
CLAUSES = {
    "auth.missing", "auth.invalid", "auth.bearer", "request.variants", "request.rejects_invalid",
    "response.schema", "response.status", "response.content_type", "errors.envelope",
    "idempotency.key_format", "idempotency.replay", "idempotency.replay_body_differs",
    "idempotency.in_flight", "idempotency.tenant_scope", "rate_limit.retry_after",
}


def test_defaults_are_usable_as_documented() -> None:
    config = EmulatorConfig()
    assert config.api_keys == (DEFAULT_API_KEY,)
    assert config.faults == frozenset()
    assert config.store == "memory"
    assert config.rate_limit == (100, 10.0)  # a <=300-request burst reaches it
    assert config.max_body_bytes == 16 * 1024 * 1024
    assert config.idempotency_ttl == 86_400.0
    assert config.clock is time.time
    assert create_app().state.emulator.config == config


def test_catalogue_has_at_least_15_faults_each_breaking_a_known_clause() -> None:
    assert len(FAULTS) >= 15
    for name, fault in FAULTS.items():
        assert isinstance(fault, Fault) and fault.name == name
        assert fault.clause in CLAUSES, fault
        assert fault.description and "\n" not in fault.description
    # Every clause the suite checks with an emulator has at least one fault to catch.
    assert {f.clause for f in FAULTS.values()} == CLAUSES


def test_unknown_fault_is_refused_with_the_valid_names() -> None:
    with pytest.raises(ValueError) as caught:
        EmulatorConfig(faults=frozenset({"auth_skipped", "no_such_fault"}))
    message = str(caught.value)
    assert "'no_such_fault'" in message
    assert all(name in message for name in FAULTS)
    assert "'auth_skipped'" not in message.split("valid")[0]


def test_faults_accept_any_collection_of_names() -> None:
    config = EmulatorConfig(faults={"auth_skipped"})  # type: ignore[arg-type]
    assert config.faults == frozenset({"auth_skipped"})
    assert config.has("auth_skipped") and not config.has("bearer_rejected")


@pytest.mark.parametrize(("options", "needle"), [
    ({"api_keys": ()}, "at least one key"),
    ({"api_keys": ("has space",)}, "visible ASCII"),
    ({"store": "redis://x"}, "postgresql://"),
    ({"store": "sqlite:"}, "sqlite:PATH"),
    ({"rate_limit": (0, 10.0)}, "capacity"),
    ({"rate_limit": (10, 0)}, "period"),
    ({"failure_rate": 1.5}, "failure_rate"),
    ({"training_seconds": -1}, "training_seconds"),
    ({"processing_delay": float("nan")}, "processing_delay"),
    ({"max_body_bytes": 0}, "max_body_bytes"),
])
def test_bad_settings_are_refused(options: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        EmulatorConfig(**options)  # type: ignore[arg-type]


def test_repr_never_shows_keys() -> None:
    config = EmulatorConfig(api_keys=("secret-key-a", "secret-key-b"))
    assert "secret" not in repr(config)
    assert "2 key(s)" in repr(config)


def test_bad_key_message_does_not_echo_the_key() -> None:
    with pytest.raises(ValueError) as caught:
        EmulatorConfig(api_keys=("almost real key",))
    assert "almost real" not in str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("100/10", (100, 10.0)), ("5/0.5", (5, 0.5)), (" 3 / 60s ", (3, 60.0)),
    ("off", None), ("0", None),
])
def test_rate_limit_syntax(text: str, expected: tuple[int, float] | None) -> None:
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize("text", ["abc", "10", "10/", "/10", "-1/10", "10/0", "1.5/10"])
def test_rate_limit_syntax_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate_limit(text)


def test_config_round_trips_through_the_worker_environment() -> None:
    config = EmulatorConfig(api_keys=("a", "b"), faults=frozenset({"bearer_rejected"}),
                            store="sqlite:/tmp/x.db", rate_limit=None, training_seconds=3.0,
                            failure_rate=0.25, consent_required=True, processing_delay=0.0,
                            idempotency_ttl=60.0, max_body_bytes=1024, in_flight_lease=5.0,
                            idempotency_max_records=10, offload_bytes=0, body_timeout=2.5)
    environ = config.to_environ()
    restored = EmulatorConfig.from_environ(json.loads(json.dumps(environ)))
    # Workers get digests, never keys, and accept exactly the same credentials.
    assert restored == dataclasses.replace(config, api_keys=())
    assert restored.api_key_digests == config.api_key_digests and len(restored.api_key_digests) == 2
    assert '"a"' not in json.dumps(environ) and '"b"' not in json.dumps(environ)
