"""What changed in the contract between two specs: the comparison behind ``spec diff``.

Both specs are compiled and flattened into *facts* keyed by a readable
location (``prompt.avatar_id``, ``photo.file(url).url``,
``prompt.reference_images[](base64)``, ``response 200.data.avatar_item.status``):
which variants and asset sources exist, each request and response field's
required-ness, types, constraints and description, the documented
statuses with their error codes, the Idempotency-Key schema, and which
advice rules the spec's prose supports.  The diff is the facts that differ.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._advice_audit import RuleActivity, rule_activity
from ._compiled import Branch, Union
from ._contract import Contract

# Keywords that constrain a value (compared one by one); "type" is gathered separately.
CONSTRAINTS = (
    "const", "enum", "pattern", "format", "maxLength", "minLength", "maxItems", "minItems",
    "uniqueItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "default",
)
_ALTERNATIVES = ("anyOf", "oneOf", "allOf")


@dataclass(frozen=True)
class Change:
    """One difference.  ``kind``: added, removed, changed, activated, deactivated."""

    section: str  # variants, fields, constraints, responses, idempotency_key, advice_rules
    where: str
    kind: str
    detail: str
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.section, "where": self.where, "kind": self.kind,
                "detail": self.detail, "old": self.old, "new": self.new}


# -- facts ------------------------------------------------------------------------------


def _types(node: Any, resolve: Any, depth: int = 0) -> set[str]:
    node = resolve(node)
    if not isinstance(node, dict) or depth > 16:
        return set()
    found: set[str] = set()
    kind = node.get("type")
    if isinstance(kind, str):
        found.add(kind)
    elif isinstance(kind, list):
        found.update(str(k) for k in kind)
    if "discriminator" not in node:
        for key in _ALTERNATIVES:
            for sub in node.get(key) or []:
                found |= _types(sub, resolve, depth + 1)
    return found


def _constraints(node: Any, resolve: Any, out: dict[str, Any], depth: int = 0) -> None:
    """The constraint keywords of ``node`` and its non-discriminated alternatives (first wins)."""
    node = resolve(node)
    if not isinstance(node, dict) or depth > 16:
        return
    for key in CONSTRAINTS:
        if key in node and key not in out:
            out[key] = node[key]
    if "discriminator" not in node:
        for key in _ALTERNATIVES:
            for sub in node.get(key) or []:
                _constraints(sub, resolve, out, depth + 1)


def _field_facts(node: Any, required: bool, resolve: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"required": required, "type": "|".join(sorted(_types(node, resolve)))}
    _constraints(node, resolve, facts)
    resolved = resolve(node)
    description = resolved.get("description") if isinstance(resolved, dict) else None
    if isinstance(description, str):
        facts["description"] = " ".join(description.split())
    return facts


def _objects_in(node: Any, resolve: Any, depth: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
    """Plain nested object schemas under a field: ("", obj) or ("[]", items obj)."""
    node = resolve(node)
    if not isinstance(node, dict) or depth > 16 or "discriminator" in node:
        return
    if isinstance(node.get("properties"), dict):
        yield "", node
    items = resolve(node.get("items"))
    if isinstance(items, dict) and isinstance(items.get("properties"), dict) and "discriminator" not in items:
        yield "[]", items
    for key in _ALTERNATIVES:
        for sub in node.get(key) or []:
            yield from _objects_in(sub, resolve, depth + 1)


class _Facts:
    def __init__(self, contract: Contract) -> None:
        self.resolve = contract.spec.resolve
        self.unions: dict[str, tuple[str, ...]] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.fields: dict[str, dict[str, Any]] = {}
        variants = contract.request.variants
        root = contract.request.root
        if variants is not None:
            self._union("", variants)
        self._branch(root, "body" if root.properties else "", skip_root_union=True)
        self.responses(contract)

    def _union(self, where: str, union: Union) -> None:
        self.unions[where] = union.values
        for value, branch in union.branches.items():
            self._branch(branch, f"{where}({value})" if where else value)

    def _branch(self, branch: Branch, where: str, skip_root_union: bool = False) -> None:
        schema = branch.schema
        if where:
            self.objects[where] = {"closed": branch.closed}
        sites = {loc: union for loc, union in branch.unions}
        found = schema.get("properties")
        props: dict[str, Any] = found if isinstance(found, dict) else {}
        prefix = f"{where}." if where else ""
        for name, node in props.items():
            at = prefix + name
            self.fields[at] = _field_facts(node, name in branch.required, self.resolve)
            for suffix, obj in _objects_in(node, self.resolve):
                self._plain(obj, at + suffix)
        for loc, union in sites.items():
            if loc == ():
                if not skip_root_union:
                    self._union(where, union)
                continue
            site = prefix + ".".join("[]" if step == "*" else step for step in loc).replace(".[]", "[]")
            self._union(site, union)

    def _plain(self, node: dict[str, Any], where: str, depth: int = 0) -> None:
        """A plain (non-union) object schema and the objects nested in its fields."""
        if depth > 12:  # a recursive schema: deep enough for any real difference
            return
        listed = node.get("required")
        required: list[Any] = listed if isinstance(listed, list) else []
        self.objects[where] = {"closed": node.get("additionalProperties") is False}
        for name, sub in node["properties"].items():
            at = f"{where}.{name}"
            self.fields[at] = _field_facts(sub, name in required, self.resolve)
            for suffix, obj in _objects_in(sub, self.resolve):
                self._plain(obj, at + suffix, depth + 1)

    def responses(self, contract: Contract) -> None:
        """Response bodies' fields, as ``response 200.data.avatar_item.status``."""
        for status, rc in contract.responses.items():
            if rc.pointer is None:
                continue
            for suffix, obj in _objects_in(contract.lookup(rc.pointer), self.resolve):
                self._plain(obj, f"response {status}{suffix}")


def _responses(contract: Contract) -> dict[str, dict[str, Any]]:
    return {
        status: {
            "error_code": rc.error_code,
            "media_types": list(rc.media_types),
            "headers": {h.name: {"required": h.required} for h in rc.headers.values()},
        }
        for status, rc in contract.responses.items()
    }


def _idempotency_key(contract: Contract) -> dict[str, Any] | None:
    header = contract.idempotency_key
    if header is None:
        return None
    facts: dict[str, Any] = {"required": header.required,
                             "type": "|".join(sorted(_types(header.schema, contract.spec.resolve)))}
    _constraints(header.schema, contract.spec.resolve, facts)
    return facts


# -- comparing --------------------------------------------------------------------------


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 90 else text[:87] + "..."


def _compare_facts(section: str, where: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) == new.get(key):
            continue
        ours = "constraints" if key in CONSTRAINTS or key in ("type", "closed") else section
        if key == "required" and section == "fields":
            ours = "required"
        if key not in old:
            yield Change(ours, where, "added", f"{key} added: {_short(new[key])}", None, new[key])
        elif key not in new:
            yield Change(ours, where, "removed", f"{key} removed (was {_short(old[key])})", old[key], None)
        elif key == "description":
            yield Change(ours, where, "changed", "description changed", old[key], new[key])
        else:
            yield Change(ours, where, "changed", f"{key}: {_short(old[key])} -> {_short(new[key])}",
                         old[key], new[key])


def _keyed(section: str, noun: str, old: Mapping[str, Any], new: Mapping[str, Any],
           describe: Any) -> Iterator[Change]:
    for where in sorted(old.keys() - new.keys()):
        yield Change(section, where, "removed", f"{noun} removed", old[where], None)
    for where in sorted(new.keys() - old.keys()):
        yield Change(section, where, "added", f"{noun} added{describe(new[where])}", None, new[where])
    for where in sorted(old.keys() & new.keys()):
        yield from _compare_facts(section, where, old[where], new[where])


def _field_summary(facts: Mapping[str, Any]) -> str:
    bits = ["required" if facts.get("required") else "optional"]
    if facts.get("type"):
        bits.append(str(facts["type"]))
    bits.extend(f"{k} {facts[k]!r}" for k in CONSTRAINTS if k in facts and k != "default")
    return f" ({', '.join(bits)})"


def _unions(old: Mapping[str, tuple[str, ...]], new: Mapping[str, tuple[str, ...]]) -> Iterator[Change]:
    for where in sorted(old.keys() | new.keys()):
        before, after = set(old.get(where, ())), set(new.get(where, ()))
        section = "variants" if where == "" else "sources"
        label = where or "type"
        if where in old and where in new:
            for value in sorted(after - before):
                yield Change(section, label, "added", f"{value!r} added", None, value)
            for value in sorted(before - after):
                yield Change(section, label, "removed", f"{value!r} removed", value, None)
        elif where in new:
            yield Change(section, label, "added", f"union added: {', '.join(sorted(after))}", None, sorted(after))
        else:
            yield Change(section, label, "removed", "union removed", sorted(before), None)


def _advice(old: list[RuleActivity], new: list[RuleActivity]) -> Iterator[Change]:
    ids = [row.rule.id for row in old]
    for before, after in zip(old, new, strict=True):
        # Rows that share an id (the media rules) are told apart by their text.
        label = before.rule.id if ids.count(before.rule.id) == 1 else before.rule.label
        if before.active and not after.active:
            yield Change("advice_rules", label, "deactivated",
                         f"turned inactive: the spec no longer says {before.rule.text!r}",
                         [s for _, s in before.found], None)
        elif after.active and not before.active:
            yield Change("advice_rules", label, "activated",
                         f"turned active: {after.found[0][1]!r}", None, [s for _, s in after.found])
        elif before.found != after.found:
            yield Change("advice_rules", label, "changed", "now rests on: "
                         + "; ".join(f"{p}: {s!r}" for p, s in after.found),
                         [p for p, _ in before.found], [p for p, _ in after.found])


def diff_contracts(old: Contract, new: Contract) -> list[Change]:
    """Every contract change from ``old`` to ``new``, grouped by section in a fixed order."""
    before, after = _Facts(old), _Facts(new)
    changes = list(_unions(before.unions, after.unions))
    changes += _keyed("fields", "object", before.objects, after.objects, lambda facts: "")
    changes += _keyed("fields", "field", before.fields, after.fields, _field_summary)
    changes += _keyed("responses", "status", _responses(old), _responses(new),
                      lambda facts: f" (error code {facts['error_code']})" if facts.get("error_code") else "")
    key_old, key_new = _idempotency_key(old), _idempotency_key(new)
    if key_old is None and key_new is not None:
        changes.append(Change("idempotency_key", "Idempotency-Key", "added", "header added", None, key_new))
    elif key_new is None and key_old is not None:
        changes.append(Change("idempotency_key", "Idempotency-Key", "removed", "header removed", key_old, None))
    elif key_old is not None and key_new is not None:
        changes += [Change("idempotency_key", c.where, c.kind, c.detail, c.old, c.new)
                    for c in _compare_facts("idempotency_key", "Idempotency-Key", key_old, key_new)]
    changes += _advice(rule_activity(old), rule_activity(new))
    order = ("variants", "sources", "fields", "required", "constraints", "responses",
             "idempotency_key", "advice_rules")
    return sorted(changes, key=lambda c: order.index(c.section) if c.section in order else len(order))
