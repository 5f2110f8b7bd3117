"""Hand-written create-avatar bodies shared by the validator tests."""

from __future__ import annotations

from typing import Any

URL = {"type": "url", "url": "https://cdn.example.com/anna.jpg"}
ASSET_ID = {"type": "asset_id", "asset_id": "as_123"}
B64_IMAGE = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
B64_VIDEO = {"type": "base64", "media_type": "video/mp4", "data": "AAAAGGZ0eXBtcDQy"}
FOOTAGE_URL = {"type": "url", "url": "https://cdn.example.com/footage.mp4"}

SOURCES: dict[str, dict[str, Any]] = {"url": URL, "asset_id": ASSET_ID, "base64": B64_IMAGE}


def photo(**extra: Any) -> dict[str, Any]:
    return {"type": "photo", "name": "Anna", "file": URL, **extra}


def twin(**extra: Any) -> dict[str, Any]:
    return {"type": "digital_twin", "name": "Anna", "file": FOOTAGE_URL, **extra}


def prompt(**extra: Any) -> dict[str, Any]:
    return {"type": "prompt", "name": "Anna", "prompt": "A friendly presenter", **extra}
