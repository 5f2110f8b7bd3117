"""Warnings beyond the schema: payloads that validate but will not work as intended.

The rules are the rows of :data:`._advice_rules.RULES`; each rests on a phrase
in a field's description and is compiled in only where the loaded spec still
says it.  They key on the compiled union tree, so they follow the spec's own
variant and asset names.  (Legacy renames are hints, in :mod:`._hints`.)

Advice runs on every schema-valid payload, on a service's hot path, so each
variant is compiled once into an *advisor*: a generated function holding only
the rules that apply to that variant, with its nested asset unions inlined
(and, for assets, the media kind their field's description names).  A clean payload costs a
handful of dict lookups and no further calls.  The base64 check has a fast
path that gives exactly the stdlib's answer; the did-you-mean hints live in
:mod:`._hints` (re-exported here, where they used to be).
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any

from avatar_contract.spec import Spec

from ._advice_rules import RULES, AdviceRule, evidence, rules_for
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

# An advisor appends warnings for one object found at JSON Pointer ``at``.
Advisor = Callable[[Any, str, list[Finding]], None]


def token(name: object) -> str:
    """One RFC 6901 reference token (same escaping as :func:`spec.to_pointer`)."""
    text = name if type(name) is str else str(name)
    if "~" in text or "/" in text:
        text = text.replace("~", "~0").replace("/", "~1")
    return text


# -- findings, built from the table's templates ---------------------------------------


def _unknown_fields(branch: Branch, instance: dict[str, Any], at: str, out: list[Finding]) -> None:
    for name in sorted(instance.keys() - branch.properties, key=str):
        out.append(unknown_field(branch, name, at))


def unknown_field(branch: Branch, name: str, at: str) -> Finding:
    """The ``field.unknown`` warning for key ``name`` of the object at ``at``."""
    return Finding(
        "warning", f"{at}/{token(name)}", _UNKNOWN.id,
        _UNKNOWN.message.format(value=repr(name), variant=branch.value or "request", field=name, kind="",
                                media=""),
        field_hint(name, branch.properties),
    )


_UNKNOWN = rules_for("unknown_fields")[0]


def warning_builder(rule: AdviceRule, suffix: str, variant: str) -> Callable[[Any, str], Finding]:
    """A function making ``rule``'s warning for an offending value found under pointer ``at``."""
    media = rule.media or ""
    fixed = {"field": rule.field, "variant": variant, "kind": media.rstrip("/"), "media": media}
    if "{value" not in rule.message and "{value" not in (rule.hint or ""):
        # Nothing depends on the value: the texts are made once, here.
        message = rule.message.format(value="", **fixed)
        constant = rule.hint.format(value="", **fixed) if rule.hint else None

        def build_constant(value: Any, at: str) -> Finding:
            return Finding("warning", at + suffix, rule.id, message, constant)
        return build_constant

    def build(value: Any, at: str) -> Finding:
        shown = show(value)
        hint = rule.hint.format(value=shown, **fixed) if rule.hint else None
        return Finding("warning", at + suffix, rule.id, rule.message.format(value=shown, **fixed), hint)
    return build


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


# -- compiling the tree -------------------------------------------------------------


def item_limit(branch: Branch, name: str, resolve: Callable[[Any], Any] | None = None) -> int | None:
    """The ``maxItems`` a list in field ``name`` of ``branch`` must keep to, if the schema fixes one.

    Only where a longer list surely fails: ``maxItems`` on the field's schema
    itself, or on the one ``anyOf``/``oneOf`` branch that can be an array
    (every other branch names a single non-array ``type``).
    """
    props = branch.schema.get("properties")
    node = props.get(name) if isinstance(props, dict) else None
    if resolve is not None and isinstance(node, dict) and "$ref" in node:
        node = resolve(node)
    if not isinstance(node, dict):
        return None
    if type(node.get("maxItems")) is int:
        return int(node["maxItems"])
    found: list[int] = []
    for key in ("anyOf", "oneOf"):
        subs = node.get(key)
        if not isinstance(subs, list):
            continue
        for sub in subs:
            kind = sub.get("type") if isinstance(sub, dict) else None
            if isinstance(kind, str) and kind != "array":
                continue
            if kind != "array" or type(sub.get("maxItems")) is not int:
                return None  # a branch that may take the list without a bound
            found.append(int(sub["maxItems"]))
    return found[0] if len(found) == 1 else None


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


class _Source:
    """Python source for one advisor, with the objects it refers to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "isinstance": isinstance, "dict": dict, "list": list, "str": str,
            "enumerate": enumerate, "decodes": decodes, "unknown_fields": _unknown_fields,
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
    """Advisors for one compiled request tree, built once per contract from :data:`RULES`.

    Each advisor is generated Python: the table's rules that are active on a
    branch (their spec text is in the loaded spec), with the branches of its
    nested unions inlined under ``if kind == "url":`` tests, so a body is
    checked in one flat function, with no per-asset calls and no tests of
    rules that cannot apply.  The generated source is kept in ``sources``.

    ``spec`` resolves a ``$ref`` property to the schema carrying its
    description; without it only inline descriptions are read.
    """

    def __init__(self, root: Branch, spec: Spec | None = None) -> None:
        self._resolve = spec.resolve if spec is not None else None
        self._branches: dict[tuple[str, str, AdviceRule | None], Advisor] = {}
        self.sources: dict[tuple[str, str], str] = {}
        only_union = (not root.properties and len(root.unions) == 1 and root.unions[0][0] == ())
        # A body that is nothing but a union of variants skips a layer.
        self.root = self.union(root.unions[0][1], "") if only_union else self.branch(root, "")

    def active(self, branch: Branch) -> list[AdviceRule]:
        """The emitting rules whose spec text ``branch``'s property descriptions contain."""
        props = branch.schema.get("properties")
        if not isinstance(props, dict):
            return []
        return [rule for rule in RULES
                if rule.emits and (rule.field == "*" or rule.field in props)
                and evidence(rule, props, self._resolve) is not None]

    def union(self, union: Union, variant: str, media: AdviceRule | None = None) -> Advisor:
        prop = union.property
        table = {value: self.branch(b, variant or b.value, media) for value, b in union.branches.items()}
        pick = {value: advisor for value, advisor in table.items() if advisor is not _nothing}.get

        def advise_union(instance: Any, at: str, out: list[Finding]) -> None:
            if isinstance(instance, dict):
                value = instance.get(prop)
                if isinstance(value, str):
                    advisor = pick(value)
                    if advisor is not None:
                        advisor(instance, at, out)
        return advise_union

    def branch(self, branch: Branch, variant: str, media: AdviceRule | None = None) -> Advisor:
        key = (branch.pointer, variant, media)
        found = self._branches.get(key)
        if found is None:
            src = _Source()
            self._emit(src, branch, variant, media, "obj", "at", 1)
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
                self.sources[(branch.pointer, variant)] = text
            self._branches[key] = found
        return found

    def _emit(self, src: _Source, branch: Branch, variant: str, media: AdviceRule | None,
              obj: str, at: str, depth: int) -> None:
        """Append the checks for ``branch`` on the dict in variable ``obj`` at pointer ``at``.

        ``at`` is an expression; it is evaluated only when a warning is made.
        ``media`` is the active media rule of the site this object sits under.
        """
        props = branch.properties
        sites: dict[str, AdviceRule] = {}
        for rule in self.active(branch):
            check, name = rule.check, rule.field
            if check == "media":
                sites.setdefault(name, rule)
                continue
            if check == "unknown_fields":
                if not branch.closed and props:
                    src.add(depth, f"if not {src.const(props.issuperset)}({obj}):")
                    src.add(depth + 1, f"unknown_fields({src.const(branch)}, {obj}, {at}, out)")
                continue
            value = src.var("v")
            warn = src.const(warning_builder(rule, "/" + token(name), variant))
            src.add(depth, f"{value} = {obj}.get({name!r})")  # a literal: LOAD_CONST
            if check == "blank":
                src.add(depth, f"if isinstance({value}, str) and (not {value} or {value}.isspace()):")
            elif check == "https":
                src.add(depth, f"if (isinstance({value}, str) and not {value}.startswith('https://')"
                               f" and {value}[:8].lower() != 'https://'):")
            elif check == "base64":
                src.add(depth, f"if isinstance({value}, str) and not decodes({value}):")
            elif check == "needs":
                src.add(depth, f"if isinstance({value}, list) and {value} and not {obj}.get({rule.needs!r}):")
                value = "None"
            src.add(depth + 1, f"out.append({warn}({value}, {at}))")
        # The media check rides along with the asset checks (as in any object
        # that has asset fields), whether or not media_type itself is declared.
        if media is not None and media.media and ("url" in props or "data" in props or "media_type" in props):
            found = src.var("media")
            warn = src.const(warning_builder(media, "/media_type", variant))
            src.add(depth, f"{found} = {obj}.get('media_type')")
            src.add(depth, f"if isinstance({found}, str) and not {found}.lower().startswith({media.media!r}):")
            src.add(depth + 1, f"out.append({warn}({found}, {at}))")
        for loc, union in branch.unions:
            inner = sites.get(loc[0], media) if loc and loc[0] != "*" else media
            if len(loc) == 1 and loc[0] != "*":
                sub = src.var("sub")
                src.add(depth, f"{sub} = {obj}.get({src.const(loc[0])})")
                src.add(depth, f"if isinstance({sub}, dict):")
                self._emit_union(src, union, variant, inner, sub,
                                 f"{at} + {src.const('/' + token(loc[0]))}", depth + 1)
            elif len(loc) == 2 and loc[0] != "*" and loc[1] == "*":
                items, index, sub = src.var("items"), src.var("index"), src.var("sub")
                step = src.const("/" + token(loc[0]) + "/")
                limit = item_limit(branch, loc[0], self._resolve)
                # A list longer than its maxItems already fails the body: its
                # items get no advice (a 10,000-item list would cost more in
                # warnings than the error that matters).
                bound = f" and len({items}) <= {limit}" if limit is not None else ""
                src.add(depth, f"{items} = {obj}.get({src.const(loc[0])})")
                src.add(depth, f"if isinstance({items}, list){bound}:")
                src.add(depth + 1, f"for {index}, {sub} in enumerate({items}):")
                src.add(depth + 2, f"if isinstance({sub}, dict):")
                self._emit_union(src, union, variant, inner, sub, f"{at} + {step} + str({index})",
                                 depth + 3)
            else:
                walk = walker(loc, self.union(union, variant, inner))
                src.add(depth, f"{src.const(walk)}({obj}, {at}, out)")

    def _emit_union(self, src: _Source, union: Union, variant: str, media: AdviceRule | None,
                    obj: str, at: str, depth: int) -> None:
        """Dispatch on the discriminator of the dict in ``obj`` and inline the chosen branch."""
        kind = src.var("kind")
        src.add(depth, f"{kind} = {obj}.get({src.const(union.property)})")
        first = True
        for value, branch in union.branches.items():
            mark = len(src.lines)
            # A str equal to the value is exactly what the dict lookup of the
            # generic dispatch would have matched; no other JSON value is.
            src.add(depth, f"{'if' if first else 'elif'} {kind} == {src.const(value)}:")
            self._emit(src, branch, variant or branch.value, media, obj, at, depth + 1)
            if len(src.lines) == mark + 1:
                del src.lines[mark]  # nothing to check in this branch
            else:
                first = False
        if first:
            src.add(depth, "pass")
