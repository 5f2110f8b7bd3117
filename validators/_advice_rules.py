"""The advice rule table: every warning that goes beyond the schema, and the spec text it rests on.

A rule applies to one field (a property name) and is *active* on an object
schema only while that property's ``description`` in the loaded spec contains
the rule's ``text``, compared loosely (case and runs of whitespace ignored).
When the vendor rewrites the sentence away, the rule goes quiet on its own:
inactive rules emit nothing, and ``lint --spec-audit`` / ``spec diff`` say so.

``text=None`` marks the one rule that rests on the schema itself (its list of
declared properties), not on prose; it is always active.

``check`` names what the generated advisor tests (see :mod:`._advice`, which
compiles these rows into one flat function per variant):

* ``unknown_fields``  a key the object's schema does not declare (open objects only);
* ``blank``           the field is a string that is empty or only whitespace;
* ``https``           the field is a string that does not start with ``https://`` (any case);
* ``base64``          the field is a string that strict base64 decoding refuses;
* ``media``           assets under the field carry a ``media_type`` outside ``media``;
* ``needs``           the field is a non-empty list while the field named ``needs`` is unset;
* ``server``          nothing offline: a statement only the server can check.  The
                      linter never emits it; the emulator enforces it (and only while
                      the loaded spec still says it).

Messages and hints are ``str.format`` templates; the names they may use are
``{field}``, ``{value}`` (the offending value, shortened), ``{variant}``,
``{kind}`` (media kind, e.g. ``image``) and ``{media}`` (e.g. ``image/``).

Legacy forms (``video`` -> ``digital_twin``, ``content_type`` -> ``media_type``,
``video_avatar``) are history, not spec text: they live in :mod:`._hints` as
hints on findings the schema already produces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Check = Literal["unknown_fields", "blank", "https", "base64", "media", "needs", "server"]


@dataclass(frozen=True)
class AdviceRule:
    """One row of the table."""

    id: str
    field: str  # the property whose description carries ``text``; "*" = any undeclared key
    text: str | None  # the spec's words, matched loosely; None = rests on the schema itself
    check: Check
    message: str
    hint: str | None = None
    media: str | None = None  # ``check="media"``: the media-type prefix the text implies
    needs: str | None = None  # ``check="needs"``: the field that must be set alongside

    @property
    def emits(self) -> bool:
        """Whether the linter can ever produce this rule's warning (server rules: never)."""
        return self.check != "server"

    @property
    def label(self) -> str:
        """How listings name the row: the id, plus the text when several rows share an id."""
        return self.id if self.text is None else f"{self.id} ({self.text!r})"


RULES: tuple[AdviceRule, ...] = (
    AdviceRule(
        "field.unknown", "*", None, "unknown_fields",
        "{value} is not a field of the {variant} variant and is ignored",
        "did-you-mean: the closest declared field, or the field it was renamed to",
    ),
    AdviceRule(
        "name.empty", "name", "Name of the avatar", "blank",
        "name is empty; the avatar will have no usable display name",
        "send the name people should see for this avatar",
    ),
    AdviceRule(
        "url.not_https", "url", "publicly accessible HTTPS URL", "https",
        "{value} is not an https URL; the asset must be a publicly accessible HTTPS URL",
        "host the file behind https://, or upload it and send an asset_id",
    ),
    AdviceRule(
        "base64.undecodable", "data", "Base64-encoded", "base64",
        "data is not valid base64, so the file cannot be decoded",
        "standard alphabet with = padding and no line breaks or data: prefix",
    ),
    AdviceRule(
        "media_type.mismatch", "file", "Photo asset", "media",
        "{variant} avatars need {kind} files, but media_type is {value}",
        "send an {media}* file", media="image/",
    ),
    AdviceRule(
        "media_type.mismatch", "file", "Footage", "media",
        "{variant} avatars need {kind} files, but media_type is {value}",
        "send a {media}* file", media="video/",
    ),
    AdviceRule(
        "media_type.mismatch", "reference_images", "Reference images", "media",
        "{variant} avatars need {kind} files, but media_type is {value}",
        "send an {media}* file", media="image/",
    ),
    AdviceRule(
        "reference_images.without_group", "reference_images", "Will only work with an avatar_group_id",
        "needs",
        "reference_images only work with an avatar_group_id; they will be ignored",
        "set avatar_group_id to the group the new look should join", needs="avatar_group_id",
    ),
    # June 2026: avatar_id on prompt.  Existence, a usable image and group
    # membership are known only to the server, so offline there is no warning
    # (an avatar_id with an avatar_group_id is legal); the emulator follows these.
    AdviceRule(
        "avatar_id.joins_group", "avatar_id", "saved to the referenced avatar's group", "server",
        "without avatar_group_id, the new avatar joins the referenced avatar's group",
    ),
    AdviceRule(
        "avatar_id.must_exist", "avatar_id", "The referenced avatar must exist", "server",
        "avatar_id {value} does not name an existing avatar",
        "send the id of an avatar (look) created earlier",
    ),
    AdviceRule(
        "avatar_id.usable_image", "avatar_id", "have a usable image", "server",
        "avatar_id {value} has no usable image (its training failed)",
        "reference an avatar whose training completed",
    ),
    AdviceRule(
        "avatar_id.in_group", "avatar_id", "the avatar must belong to that group", "server",
        "avatar_id {value} does not belong to the avatar_group_id sent",
        "omit avatar_group_id, or send the avatar's own group",
    ),
)


# -- loose matching -----------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def loose(text: str) -> str:
    """Case- and whitespace-insensitive form used for matching the spec's prose."""
    return _SPACE.sub(" ", text).strip().casefold()


def sentence_with(description: str, text: str) -> str | None:
    """The sentence of ``description`` that contains ``text`` (loosely), or None if none does."""
    wanted = loose(text)
    if wanted not in loose(description):
        return None
    sentences = _SENTENCE_END.split(_SPACE.sub(" ", description).strip())
    for sentence in sentences:
        if wanted in loose(sentence):
            return sentence
    # The phrase spans a sentence break: the whole description is the evidence.
    return _SPACE.sub(" ", description).strip()


def evidence(rule: AdviceRule, properties: Mapping[str, Any], resolve: Any = None) -> str | None:
    """Why ``rule`` is active on an object whose ``properties`` are given: the sentence found.

    ``None`` means inactive there.  A schema-based rule (``text=None``) is
    active wherever the object declares properties.  ``resolve`` follows a
    ``$ref`` property to the schema that carries the description.
    """
    if rule.text is None:
        return "(the schema's declared properties)" if properties else None
    node = properties.get(rule.field)
    if not isinstance(node, dict):
        return None
    description = node.get("description")
    if not isinstance(description, str) and resolve is not None and "$ref" in node:
        target = resolve(node)
        description = target.get("description") if isinstance(target, dict) else None
    if not isinstance(description, str):
        return None
    return sentence_with(description, rule.text)


def rules_for(check: Check) -> tuple[AdviceRule, ...]:
    return tuple(rule for rule in RULES if rule.check == check)


def rule(rule_id: str, text: str | None = None) -> AdviceRule:
    """The row with this id (and text, when several rows share the id)."""
    for row in RULES:
        if row.id == rule_id and (text is None or row.text == text):
            return row
    raise KeyError(rule_id)
