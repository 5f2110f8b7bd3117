"""The fault catalogue: named, switchable bugs, each breaking one contract clause.

Each fault is the kind of mistake a real implementation makes (a forgotten
check, a framework default, a hard-coded value).  The contract suite has to
catch every one of them, which is how we know the suite has teeth.  Every fault
is observable by a black-box client against the default configuration (one
exception: ``not_tenant_scoped`` needs a second API key, because a tenant
boundary cannot be seen with one tenant).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Fault:
    """One injectable bug: its name, the contract clause it breaks, and how."""

    name: str
    clause: str
    description: str


_CATALOGUE = (
    # auth.*
    Fault("auth_skipped", "auth.missing",
          "requests without any credentials are served as the first configured tenant"),
    Fault("wrong_key_accepted", "auth.invalid",
          "any well-formed key is accepted; only a missing key is refused"),
    Fault("bearer_rejected", "auth.bearer",
          "'Authorization: Bearer KEY' is refused with 401; only x-api-key works"),
    # errors.envelope
    Fault("error_envelope_missing", "errors.envelope",
          "401 bodies are {code, message} at the top level, without the 'error' wrapper"),
    Fault("error_code_wrong", "errors.envelope",
          "the 409 in-flight answer uses the code 'conflict' instead of the stated 'request_in_progress'"),
    # request.rejects_invalid
    Fault("status_422_for_invalid", "request.rejects_invalid",
          "schema-invalid or unparseable bodies get 422 (a framework default) instead of 400"),
    Fault("status_500_for_invalid", "request.rejects_invalid",
          "schema-invalid or unparseable bodies crash the handler: 500 instead of 400"),
    Fault("max_items_unenforced", "request.rejects_invalid",
          "reference_images longer than maxItems (3) are accepted"),
    Fault("max_length_unenforced", "request.rejects_invalid",
          "a prompt longer than maxLength (1000 code points) is accepted"),
    Fault("asset_extra_fields_allowed", "request.rejects_invalid",
          "unknown fields inside file/reference_images assets are accepted "
          "(additionalProperties: false ignored)"),
    Fault("required_field_unenforced", "request.rejects_invalid",
          "a missing 'name' is accepted and defaulted instead of rejected"),
    # request.variants
    Fault("digital_twin_rejected", "request.variants",
          "valid digital_twin requests are refused with 400 invalid_parameter"),
    # response.schema
    Fault("response_missing_id", "response.schema",
          "the created avatar_item has no 'id'"),
    Fault("response_enum_out_of_range", "response.schema",
          "the created avatar_item's status is 'queued', which AvatarStatus does not list"),
    Fault("response_wrong_type", "response.schema",
          "avatar_group.created_at is an ISO-8601 string instead of integer unix seconds"),
    Fault("response_no_data_wrapper", "response.schema",
          "the 200 body is {avatar_item, avatar_group} without the 'data' wrapper"),
    Fault("avatar_type_mismatch", "response.schema",
          "every look is reported as 'photo_avatar', digital twins included"),
    # response.status / response.content_type
    Fault("undocumented_status", "response.status",
          "a successful create answers 201 Created, which the spec does not document"),
    Fault("wrong_content_type", "response.content_type",
          "JSON bodies are sent as 'text/plain; charset=utf-8'"),
    # idempotency.*
    Fault("key_pattern_unenforced", "idempotency.key_format",
          "Idempotency-Key is only length-checked; any characters are accepted"),
    Fault("idempotency_ignored", "idempotency.replay",
          "Idempotency-Key is validated but never stored: every retry creates again"),
    Fault("replay_mismatch_rejected", "idempotency.replay_body_differs",
          "a retry whose body differs gets 400 instead of the original response"),
    Fault("no_in_flight_guard", "idempotency.in_flight",
          "no in-flight marker: concurrent same-key requests all create (last one is stored)"),
    Fault("not_tenant_scoped", "idempotency.tenant_scope",
          "idempotency records are shared across API keys, so tenant B replays tenant A"),
    # rate_limit.retry_after
    Fault("retry_after_missing", "rate_limit.retry_after",
          "429 responses carry no Retry-After header"),
    Fault("retry_after_http_date", "rate_limit.retry_after",
          "Retry-After is an HTTP-date instead of integer seconds"),
)

FAULTS: Mapping[str, Fault] = MappingProxyType({f.name: f for f in _CATALOGUE})
"""Every fault by name, in catalogue order."""


def check_fault_names(names: object) -> frozenset[str]:
    """The names as a frozenset; ``ValueError`` naming the valid faults for any unknown one."""
    if isinstance(names, str):
        names = (names,)
    try:
        given: frozenset[str] = frozenset(names)  # type: ignore[call-overload]
    except TypeError:
        raise ValueError(f"faults must be a collection of fault names, not {type(names).__name__}") from None
    unknown = sorted(str(n) for n in given if n not in FAULTS)
    if unknown:
        raise ValueError(
            f"unknown fault{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"valid faults: {', '.join(FAULTS)}"
        )
    return given
