"""Turning an accepted request into stored records and the 200 body, faults included."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from ._config import EmulatorConfig
from ._records import Group, Look
from ._training import AVATAR_TYPE_FOR_VARIANT, PROCESSING, fails, render_group, render_look


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def new_records(body: dict[str, Any], tenant: str, now: float, config: EmulatorConfig,
                faults: frozenset[str]) -> tuple[Look, Group]:
    """The look to create and the group it joins (reused by the store if it exists); ``faults``: those in force."""
    variant = str(body.get("type"))
    avatar_type = AVATAR_TYPE_FOR_VARIANT.get(variant, "photo_avatar")
    if "avatar_type_mismatch" in faults:
        avatar_type = "photo_avatar"  # the bug: one hard-coded type for every variant
    name = body["name"]
    requested = body.get("avatar_group_id")
    # Any string names the group; one this tenant has never used is adopted
    # rather than refused, because the spec documents no "unknown group" error.
    group_id = requested if isinstance(requested, str) else new_id("ag")
    look_id = new_id("lk")
    failing = fails(look_id, config.failure_rate)
    consent = config.consent_required and variant == "digital_twin"
    look = Look(look_id, tenant, group_id, name, variant, avatar_type, now, failing, consent)
    group = Group(group_id, tenant, name, now, variant, failing, consent)
    return look, group


def create_body(look: Look, group: Group, looks_count: int, group_status: str,
                faults: frozenset[str]) -> dict[str, Any]:
    """The 200 body of a create.  The new look is ``processing``: training has just begun.

    The group is new (also ``processing``) or an existing one, shown as it is now.
    """
    item = render_look(look, PROCESSING)
    group_item = render_group(group, looks_count, group_status)
    if "response_missing_id" in faults:
        del item["id"]
    if "response_enum_out_of_range" in faults:
        item["status"] = "queued"
    if "response_wrong_type" in faults:
        group_item["created_at"] = datetime.fromtimestamp(group.created_at, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    data = {"avatar_item": item, "avatar_group": group_item}
    if "response_no_data_wrapper" in faults:
        return data
    return {"data": data}
