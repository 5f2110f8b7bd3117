"""Asynchronous training, computed from the clock whenever an avatar is read.

Nothing runs in the background: a look's status is a pure function of its
age, so a test moves a :class:`~emulator.ManualClock` forward instead of
sleeping, and every worker process tells the same story.

Timeline, with ``T`` = ``training_seconds``::

    [0, T)   processing
    >= T     failed (AvatarError), for the configured share of looks
    [T, 2T)  pending_consent, for digital twins when consent is required
    >= T     completed  (>= 2T when consent was pending: approval is automatic)
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._records import Group, Look

PROCESSING, PENDING_CONSENT, FAILED, COMPLETED = "processing", "pending_consent", "failed", "completed"

AVATAR_TYPE_FOR_VARIANT = {"photo": "photo_avatar", "digital_twin": "digital_twin", "prompt": "photo_avatar"}
_ENGINES = {"digital_twin": ["avatar_v", "avatar_iv"], "photo_avatar": ["avatar_iv"]}
_FAILURE = {
    "digital_twin": ("training_failed", "Footage could not be used: no single face is visible "
                     "for at least 15 seconds"),
    "photo": ("training_failed", "Photo could not be used: no face was detected"),
    "prompt": ("generation_failed", "The prompt could not be turned into an avatar"),
}
PREVIEW_BASE = "https://files.emulator.invalid"  # .invalid: reserved, never resolves


def fails(look_id: str, failure_rate: float) -> bool:
    """Whether a look's training fails; a stable function of its id, so reads agree."""
    if failure_rate <= 0.0:
        return False
    draw = int.from_bytes(hashlib.sha256(look_id.encode()).digest()[:8], "big") / 2.0**64
    return draw < failure_rate


def status_at(created_at: float, failing: bool, needs_consent: bool, now: float,
              training_seconds: float) -> str:
    age = now - created_at
    if age < training_seconds:
        return PROCESSING
    if failing:
        return FAILED
    if needs_consent and age < 2 * training_seconds:
        return PENDING_CONSENT
    return COMPLETED


def _error(variant: str, status: str) -> dict[str, str] | None:
    if status != FAILED:
        return None
    code, message = _FAILURE.get(variant, _FAILURE["photo"])
    return {"code": code, "message": message}


def _previews(kind: str, ident: str, avatar_type: str, status: str) -> tuple[str | None, str | None]:
    if status != COMPLETED:
        return None, None
    image = f"{PREVIEW_BASE}/{kind}/{ident}/preview.jpg"
    video = f"{PREVIEW_BASE}/{kind}/{ident}/preview.mp4" if avatar_type == "digital_twin" else None
    return image, video


def render_look(look: Look, status: str) -> dict[str, Any]:
    """An AvatarLookItem, every documented field present."""
    image, video = _previews("looks", look.id, look.avatar_type, status)
    return {
        "id": look.id,
        "name": look.name,
        "avatar_type": look.avatar_type,
        "group_id": look.group_id,
        "preview_image_url": image,
        "preview_video_url": video,
        "gender": None,
        "tags": [],
        "default_voice_id": None,
        "supported_api_engines": list(_ENGINES.get(look.avatar_type, ["avatar_iv"])),
        "image_width": None,
        "image_height": None,
        "preferred_orientation": None,
        "status": status,
        "error": _error(look.variant, status),
    }


def render_group(group: Group, looks_count: int, status: str) -> dict[str, Any]:
    """An AvatarGroupItem, every documented field present."""
    avatar_type = AVATAR_TYPE_FOR_VARIANT.get(group.variant, "photo_avatar")
    image, video = _previews("groups", group.id, avatar_type, status)
    consent = None
    if group.needs_consent:
        consent = "approved" if status == COMPLETED else "pending"
    return {
        "id": group.id,
        "name": group.name,
        "preview_image_url": image,
        "preview_video_url": video,
        "gender": None,
        "created_at": int(group.created_at),
        "looks_count": looks_count,
        "default_voice_id": None,
        "consent_status": consent,
        "status": status,
        "error": _error(group.variant, status),
    }
