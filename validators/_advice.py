"""Warnings beyond the schema: payloads that validate but will not work as intended.

The rules come from the spec's prose (descriptions the schema cannot express)
and from HeyGen's API history (renamed fields and values).  They key on the
compiled union tree, so they follow the spec's own variant and asset names.

Advice runs on every schema-valid payload, on a service's hot path, so each
variant is compiled once into an *advisor*: a generated function holding only
the rules that apply to that variant, with its nested asset unions inlined
(and, for assets, the media kind the variant needs).  A clean payload costs a
handful of dict lookups and no further calls.  The base64 check has a fast
path that gives exactly the stdlib's answer; the did-you-mean hints live in
:mod:`._hints` (re-exported here, where they used to be).
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Mapping
from typing import Any

from ._compiled import Branch, Location, Union
from ._finding import Finding
from ._hints import LEGACY_DISCRIMINATORS as LEGACY_DISCRIMINATORS
from ._hints import LEGACY_FIELDS as LEGACY_FIELDS
from ._hints import LEGACY_RESPONSE_VALUES as LEGACY_RESPONSE_VALUES
from ._hints import Vocabulary as Vocabulary
from ._hints import discriminator_hint as discriminator_hint
from ._hints import field_hint
from ._hints import similarity as similarity
from ._hints import value_hint as value_hint
from ._hints import vocabulary as vocabulary
from ._schema_errors import show

# Which kind of media each variant's assets must carry ("Photo asset",
# "Footage", "Reference images").
MEDIA_BY_VARIANT: Mapping[str, str] = {"photo": "image/", "digital_twin": "video/", "prompt": "image/"}

# An advisor appends warnings for one object found at JSON Pointer ``at``.
Advisor = Callable[[Any, str, list[Finding]], None]


def token(name: object) -> str:
    """One RFC 6901 reference token (same escaping as :func:`spec.to_pointer`)."""
    text = name if type(name) is str else str(name)
    if "~" in text or "/" in text:
        text = text.replace("~", "~0").replace("/", "~1")
    return text


# -- the rules, each appending to ``out`` -------------------------------------------


def _unknown_fields(branch: Branch, instance: dict[str, Any], at: str, out: list[Finding]) -> None:
    for name in sorted(instance.keys() - branch.properties, key=str):
        out.append(Finding(
            "warning", f"{at}/{token(name)}", "field.unknown",
            f"{name!r} is not a field of the {branch.value or 'request'} variant and is ignored",
            field_hint(name, branch.properties),
        ))


def _not_https(url: str, at: str) -> Finding:
    return Finding(
        "warning", f"{at}/url", "url.not_https",
        f"{show(url)} is not an https URL; the asset must be a publicly accessible HTTPS URL",
        "host the file behind https://, or upload it and send an asset_id",
    )


def _undecodable(at: str) -> Finding:
    return Finding(
        "warning", f"{at}/data", "base64.undecodable",
        "data is not valid base64, so the file cannot be decoded",
        "standard alphabet with = padding and no line breaks or data: prefix",
    )


def _media_mismatch(media: str, at: str, variant: str, want: str) -> Finding:
    return Finding(
        "warning", f"{at}/media_type", "media_type.mismatch",
        f"{variant} avatars need {want[:-1]} files, but media_type is {show(media)}",
        f"send an {want}* file" if want == "image/" else f"send a {want}* file",
    )


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def decodes(data: str) -> bool:
    """Whether ``binascii.a2b_base64(data, strict_mode=True)`` succeeds.

    Canonical base64 (alphabet characters, then exactly the padding that
    completes the last quantum) always decodes, and is recognised with two
    C-level passes, several times faster than decoding a kilobyte payload.
    Anything else gets binascii's own answer, whose corner cases (excess
    padding, say) differ between Python versions.
    """
    if data.isascii():
        body = data.rstrip("=")
        if not body.encode("ascii").translate(None, _B64_ALPHABET):
            pads = len(data) - len(body)
            rest = len(body) % 4
            if (rest == 0 and pads == 0) or (rest == 2 and pads == 2) or (rest == 3 and pads == 1):
                return True
    try:
        binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


_EMPTY_NAME = "name is empty; the avatar will have no usable display name"
_WITHOUT_GROUP = "reference_images only work with an avatar_group_id; they will be ignored"
_WITHOUT_GROUP_HINT = "set avatar_group_id to the group the new look should join"


# -- compiling the tree -------------------------------------------------------------


def walker(loc: Location, leaf: Advisor) -> Advisor:
    """Apply ``leaf`` to every value at the location template ``loc`` ("*" = each item)."""
    if not loc:
        return leaf
    head = loc[0]
    inner = walker(loc[1:], leaf)
    if head == "*":
        def each(value: Any, at: str, out: list[Finding]) -> None:
            if isinstance(value, list):
                for index, item in enumerate(value):
                    inner(item, f"{at}/{index}", out)
        return each
    step = "/" + token(head)

    def field(value: Any, at: str, out: list[Finding]) -> None:
        if isinstance(value, dict) and head in value:
            inner(value[head], at + step, out)
    return field


def _nothing(instance: Any, at: str, out: list[Finding]) -> None:
    return None


def _empty_name(at: str) -> Finding:
    return Finding("warning", f"{at}/name", "name.empty", _EMPTY_NAME)


def _without_group(at: str) -> Finding:
    return Finding("warning", f"{at}/reference_images", "reference_images.without_group",
                   _WITHOUT_GROUP, _WITHOUT_GROUP_HINT)


class _Source:
    """Python source for one advisor, with the objects it refers to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "isinstance": isinstance, "dict": dict, "list": list, "str": str,
            "enumerate": enumerate, "decodes": decodes, "unknown_fields": _unknown_fields,
            "not_https": _not_https, "undecodable": _undecodable,
            "media_mismatch": _media_mismatch, "empty_name": _empty_name,
            "without_group": _without_group,
        }
        self._count = 0

    def const(self, value: Any) -> str:
        name = f"c{len(self.names)}"
        self.names[name] = value
        return name

    def var(self, stem: str) -> str:
        self._count += 1
        return f"{stem}{self._count}"

    def add(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)


class AdvicePlan:
    """Advisors for one compiled request tree, built once per contract.

    Each advisor is generated Python: the rules that apply to a branch, with
    the branches of its nested unions inlined under ``if kind == "url":``
    tests, so a body is checked in one flat function, with no per-asset calls
    and no tests of rules that cannot apply.  The generated source is kept in
    ``sources`` for inspection.
    """

    def __init__(self, root: Branch) -> None:
        self._branches: dict[tuple[str, str], Advisor] = {}
        self.sources: dict[tuple[str, str], str] = {}
        only_union = (not root.properties and len(root.unions) == 1 and root.unions[0][0] == ())
        # A body that is nothing but a union of variants skips a layer.
        self.root = self.union(root.unions[0][1], "") if only_union else self.branch(root, "")

    def union(self, union: Union, variant: str) -> Advisor:
        prop = union.property
        table = {value: self.branch(b, variant or b.value) for value, b in union.branches.items()}
        pick = {value: advisor for value, advisor in table.items() if advisor is not _nothing}.get

        def advise_union(instance: Any, at: str, out: list[Finding]) -> None:
            if isinstance(instance, dict):
                value = instance.get(prop)
                if isinstance(value, str):
                    advisor = pick(value)
                    if advisor is not None:
                        advisor(instance, at, out)
        return advise_union

    def branch(self, branch: Branch, variant: str) -> Advisor:
        key = (branch.pointer, variant)
        found = self._branches.get(key)
        if found is None:
            src = _Source()
            self._emit(src, branch, variant, "obj", "at", 1)
            if not src.lines:
                found = _nothing
            else:
                text = "\n".join([
                    "def advise(obj, at, out):",
                    "    if not isinstance(obj, dict):",
                    "        return",
                    *src.lines,
                ])
                exec(compile(text, f"<advisor {variant or 'body'} {branch.pointer}>", "exec"),
                     src.names)
                found = src.names["advise"]
                self.sources[key] = text
            self._branches[key] = found
        return found

    def _emit(self, src: _Source, branch: Branch, variant: str, obj: str, at: str, depth: int) -> None:
        """Append the checks for ``branch`` on the dict in variable ``obj`` at pointer ``at``.

        ``at`` is an expression; it is evaluated only when a warning is made.
        """
        props = branch.properties
        if not branch.closed and props:
            src.add(depth, f"if not {src.const(props.issuperset)}({obj}):")
            src.add(depth + 1, f"unknown_fields({src.const(branch)}, {obj}, {at}, out)")
        if "name" in props:
            name = src.var("name")
            src.add(depth, f"{name} = {obj}.get('name')")
            src.add(depth, f"if isinstance({name}, str) and (not {name} or {name}.isspace()):")
            src.add(depth + 1, f"out.append(empty_name({at}))")
        # The media check rides along with the asset checks (as in any object
        # that has asset fields), whether or not media_type itself is declared.
        if "url" in props:
            url = src.var("url")
            src.add(depth, f"{url} = {obj}.get('url')")
            src.add(depth, f"if (isinstance({url}, str) and not {url}.startswith('https://')"
                           f" and {url}[:8].lower() != 'https://'):")
            src.add(depth + 1, f"out.append(not_https({url}, {at}))")
        if "data" in props:
            data = src.var("data")
            src.add(depth, f"{data} = {obj}.get('data')")
            src.add(depth, f"if isinstance({data}, str) and not decodes({data}):")
            src.add(depth + 1, f"out.append(undecodable({at}))")
        want = MEDIA_BY_VARIANT.get(variant)
        if want and ("url" in props or "data" in props or "media_type" in props):
            media = src.var("media")
            src.add(depth, f"{media} = {obj}.get('media_type')")
            src.add(depth, f"if isinstance({media}, str) and not {media}.lower().startswith({want!r}):")
            src.add(depth + 1,
                    f"out.append(media_mismatch({media}, {at}, {src.const(variant)}, {want!r}))")
        if "avatar_group_id" in props:
            refs = src.var("refs")
            src.add(depth, f"{refs} = {obj}.get('reference_images')")
            src.add(depth, f"if isinstance({refs}, list) and {refs} and not {obj}.get('avatar_group_id'):")
            src.add(depth + 1, f"out.append(without_group({at}))")
        for loc, union in branch.unions:
            if len(loc) == 1 and loc[0] != "*":
                sub = src.var("sub")
                src.add(depth, f"{sub} = {obj}.get({src.const(loc[0])})")
                src.add(depth, f"if isinstance({sub}, dict):")
                self._emit_union(src, union, variant, sub, f"{at} + {src.const('/' + token(loc[0]))}",
                                 depth + 1)
            elif len(loc) == 2 and loc[0] != "*" and loc[1] == "*":
                items, index, sub = src.var("items"), src.var("index"), src.var("sub")
                step = src.const("/" + token(loc[0]) + "/")
                src.add(depth, f"{items} = {obj}.get({src.const(loc[0])})")
                src.add(depth, f"if isinstance({items}, list):")
                src.add(depth + 1, f"for {index}, {sub} in enumerate({items}):")
                src.add(depth + 2, f"if isinstance({sub}, dict):")
                self._emit_union(src, union, variant, sub, f"{at} + {step} + str({index})", depth + 3)
            else:
                walk = walker(loc, self.union(union, variant))
                src.add(depth, f"{src.const(walk)}({obj}, {at}, out)")

    def _emit_union(self, src: _Source, union: Union, variant: str, obj: str, at: str,
                    depth: int) -> None:
        """Dispatch on the discriminator of the dict in ``obj`` and inline the chosen branch."""
        kind = src.var("kind")
        src.add(depth, f"{kind} = {obj}.get({src.const(union.property)})")
        first = True
        for value, branch in union.branches.items():
            mark = len(src.lines)
            # A str equal to the value is exactly what the dict lookup of the
            # generic dispatch would have matched; no other JSON value is.
            src.add(depth, f"{'if' if first else 'elif'} {kind} == {src.const(value)}:")
            self._emit(src, branch, variant or branch.value, obj, at, depth + 1)
            if len(src.lines) == mark + 1:
                del src.lines[mark]  # nothing to check in this branch
            else:
                first = False
        if first:
            src.add(depth, "pass")
