"""Warnings beyond the schema: payloads that validate but will not work as intended.

The rules come from the spec's prose (descriptions the schema cannot express)
and from HeyGen's API history (renamed fields and values).  They key on the
compiled union tree, so they follow the spec's own variant and asset names.
"""

from __future__ import annotations

import binascii
import difflib
from collections.abc import Mapping
from typing import Any

from spec import to_pointer

from ._compiled import Branch, Union, instances_at
from ._finding import Finding
from ._schema_errors import show

Path = tuple[str | int, ...]

# Values and fields the API used to accept, with what replaced them.
LEGACY_DISCRIMINATORS: Mapping[str, str] = {"video": "digital_twin", "video_avatar": "digital_twin"}
LEGACY_FIELDS: Mapping[str, str] = {"content_type": "media_type"}
LEGACY_RESPONSE_VALUES: Mapping[str, str] = {"video_avatar": "digital_twin"}

# Which kind of media each variant's assets must carry ("Photo asset",
# "Footage", "Reference images").
MEDIA_BY_VARIANT: Mapping[str, str] = {"photo": "image/", "digital_twin": "video/", "prompt": "image/"}


def discriminator_hint(union: Union, value: Any) -> str | None:
    """Why an unknown discriminator value was probably sent, and what to send."""
    allowed = union.values
    if isinstance(value, str):
        if value in LEGACY_DISCRIMINATORS and LEGACY_DISCRIMINATORS[value] in allowed:
            return f"{value!r} was renamed {LEGACY_DISCRIMINATORS[value]!r}"
        folded = {v.lower(): v for v in allowed}
        if value.strip().lower() in folded:
            return f"values are case-sensitive: use {folded[value.strip().lower()]!r}"
        close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
        if close:
            return f"did you mean {close[0]!r}?"
    elif isinstance(value, list) and len(value) == 1 and value[0] in allowed:
        return f"send the string {value[0]!r}, not an array"
    return None


def field_hint(name: str, known: frozenset[str]) -> str | None:
    if name in LEGACY_FIELDS and LEGACY_FIELDS[name] in known:
        return f"{name!r} was renamed {LEGACY_FIELDS[name]!r}"
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return f"did you mean {close[0]!r}?" if close else None


def _unknown_fields(branch: Branch, instance: dict[str, Any], path: Path) -> list[Finding]:
    out = []
    for name in sorted(instance.keys() - branch.properties, key=str):
        out.append(
            Finding(
                "warning", to_pointer((*path, name)), "field.unknown",
                f"{name!r} is not a field of the {branch.value or 'request'} variant and is ignored",
                hint=field_hint(name, branch.properties),
            )
        )
    return out


def _asset(branch: Branch, asset: dict[str, Any], path: Path, variant: str) -> list[Finding]:
    out: list[Finding] = []
    url = asset.get("url")
    if isinstance(url, str) and "url" in branch.properties and not url[:8].lower() == "https://":
        out.append(
            Finding(
                "warning", to_pointer((*path, "url")), "url.not_https",
                f"{show(url)} is not an https URL; the asset must be a publicly accessible HTTPS URL",
                hint="host the file behind https://, or upload it and send an asset_id",
            )
        )
    data = asset.get("data")
    if isinstance(data, str) and "data" in branch.properties:
        try:
            binascii.a2b_base64(data, strict_mode=True)
        except (binascii.Error, ValueError):
            out.append(
                Finding(
                    "warning", to_pointer((*path, "data")), "base64.undecodable",
                    "data is not valid base64, so the file cannot be decoded",
                    hint="standard alphabet with = padding and no line breaks or data: prefix",
                )
            )
    media = asset.get("media_type")
    want = MEDIA_BY_VARIANT.get(variant)
    if isinstance(media, str) and want and not media.lower().startswith(want):
        out.append(
            Finding(
                "warning", to_pointer((*path, "media_type")), "media_type.mismatch",
                f"{variant} avatars need {want[:-1]} files, but media_type is {show(media)}",
                hint=f"send an {want}* file" if want == "image/" else f"send a {want}* file",
            )
        )
    return out


def advise_branch(branch: Branch, instance: Any, path: Path, variant: str) -> list[Finding]:
    if not isinstance(instance, dict):
        return []
    out: list[Finding] = []
    if not branch.closed and branch.properties:
        if instance.keys() - branch.properties:
            out.extend(_unknown_fields(branch, instance, path))
    if "name" in branch.properties:
        name = instance.get("name")
        if isinstance(name, str) and not name.strip():
            out.append(
                Finding("warning", to_pointer((*path, "name")), "name.empty",
                        "name is empty; the avatar will have no usable display name")
            )
    if "url" in branch.properties or "data" in branch.properties or "media_type" in branch.properties:
        out.extend(_asset(branch, instance, path, variant))
    refs = instance.get("reference_images")
    if isinstance(refs, list) and refs and "avatar_group_id" in branch.properties:
        if not instance.get("avatar_group_id"):
            out.append(
                Finding(
                    "warning", to_pointer((*path, "reference_images")), "reference_images.without_group",
                    "reference_images only work with an avatar_group_id; they will be ignored",
                    hint="set avatar_group_id to the group the new look should join",
                )
            )
    for loc, union in branch.unions:
        for sub_path, sub in instances_at(instance, loc, path):
            out.extend(advise_union(union, sub, sub_path, variant))
    return out


def advise_union(union: Union, instance: Any, path: Path, variant: str) -> list[Finding]:
    if not isinstance(instance, dict):
        return []
    value = instance.get(union.property)
    branch = union.branches.get(value) if isinstance(value, str) else None
    if branch is None:
        return []
    return advise_branch(branch, instance, path, variant or branch.value)
