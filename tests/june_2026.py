"""The June 11 2026 Create Avatar changes, applied to a copy of the vendored spec.

HeyGen's public heygen-cli resynced its generated commands from the API spec
on 2026-06-11 ("codegen: resync gen/ from EF"); the prompt variant gained
``avatar_id`` and two descriptions changed.  We do not vendor a spec we do not
have: tests (and the README's ``spec diff`` example) build it from ours.

    python tests/june_2026.py june.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from avatar_contract.spec import vendored_spec_path

AVATAR_ID = (
    "Optional avatar id to use as the visual reference for the generation. When provided "
    "without avatar_group_id, the new avatar is saved to the referenced avatar's group; when "
    "provided with avatar_group_id, the avatar must belong to that group and the result is "
    "saved there. The referenced avatar must exist and have a usable image, otherwise the "
    "request is rejected."
)
AVATAR_GROUP_ID = (
    "Optional identity (group) to save the generated avatar to. By default a new identity is "
    "created. If avatar_id is also provided, it must belong to this group."
)
DROPPED = "Will only work with an avatar_group_id."


def june_document() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    prompt = doc["components"]["schemas"]["CreatePromptAvatarRequest"]["properties"]
    refs = prompt["reference_images"]
    before = " ".join(refs["description"].split())
    if not before.endswith(DROPPED):
        raise SystemExit(f"the vendored spec changed: reference_images no longer ends with {DROPPED!r}")
    refs["description"] = before[: -len(DROPPED)].rstrip()  # now ends at "Max 3."
    prompt["avatar_group_id"]["description"] = AVATAR_GROUP_ID
    prompt["avatar_id"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
        "description": AVATAR_ID,
        "title": "Avatar Id",
    }
    return doc


def write_june_spec(dest: Path) -> Path:
    dest.write_text(yaml.safe_dump(june_document(), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tests/june_2026.py OUT.yaml")
    print(write_june_spec(Path(sys.argv[1])))
