"""A deterministic corpus of create-avatar bodies, as the raw bytes a server receives.

Half the bodies are schema-valid and half violate exactly one constraint.  The
shape of every body comes from the compiled contract (variants, asset sources,
required fields, property types, ``maxLength``/``maxItems``), so a vendor spec
with another limit or another optional field changes the corpus, not this code.
Only *realism* is hand-written: what names, prompts, URLs and base64 payloads
look like, and which media types fit which variant.

    >>> from corpus import corpus
    >>> bodies = corpus()
    >>> len(bodies) >= 2000, isinstance(bodies[0], bytes)
    (True, True)

Everything is seeded: the same arguments always give the same bytes, with no
network and no clock.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from avatar_contract.spec import Spec
from avatar_contract.validators import Contract, contract_for
from avatar_contract.validators._compiled import Branch, Union, is_union

DEFAULT_SIZE = 2000
DEFAULT_SEED = 20_240_611

# -- realism: what real clients send ------------------------------------------------

_FIRST = ("Anna", "Ben", "Chloé", "Dmitri", "Émile", "Fatima", "Grace", "Hiro", "Ingrid",
          "José", "Kwame", "Léa", "Mei", "Noor", "Olu", "Priya", "Quinn", "Rosa", "Søren",
          "Tomás", "Uma", "Vikram", "Wen", "Ximena", "Yusuf", "Zoë", "李明", "Алина", "محمد")
_LOOK = ("", " — studio", " (office look)", " v2", " 🎬", " • Sales", " / spring promo",
         " 𝒜vatar", " [draft]", " - keynote 2025")
_WORDS = ("a", "the", "friendly", "professional", "presenter", "smiling", "woman", "man",
          "in", "with", "soft", "lighting", "studio", "background", "blue", "blazer",
          "glasses", "short", "long", "hair", "warm", "tone", "cinematic", "portrait",
          "looking", "at", "camera", "outdoor", "café", "naïve", "über", "façade",
          "東京", "夜景", "улыбка", "😀", "🎥", "𝓈𝓉𝓎𝓁𝑒", "👩‍💼", "✨")
_HOSTS = ("cdn.example.com", "assets.acme.io", "storage.googleapis.com/acme-avatars",
          "acme-media.s3.eu-west-1.amazonaws.com", "files.example.org/uploads")
_EXT = {"image/": ("jpg", "png", "webp"), "video/": ("mp4", "mov", "webm")}
_MEDIA = {"image/": ("image/png", "image/jpeg", "image/webp"),
          "video/": ("video/mp4", "video/quicktime", "video/webm")}
# Which kind of file each variant is about ("Photo asset", "Footage",
# "Reference images"); an unknown variant from a newer spec gets images.
_KIND_BY_VARIANT = {"photo": "image/", "digital_twin": "video/", "prompt": "image/"}

# Schema-valid, but things the linter should warn about; a few per hundred.
_SUSPECT_FIELDS = ("avatar_groupid", "callback_url", "look_name", "Name")
_UNKNOWN_DISCRIMINATORS = ("video", "Photo", "PHOTO", "avatar", "", "photo ", "image",
                           "digital-twin", "url ", "file")
_NON_STRINGS: tuple[Any, ...] = (3, ["photo"], {}, None, True, 1.5, ["url"], 0)
_NON_OBJECT_BODIES: tuple[Any, ...] = ([], "photo", 0, None, True, 3.5, [{"type": "photo"}],
                                       "", -1)
_WRONG_BY_TYPE: Mapping[str, tuple[Any, ...]] = {
    "string": ("oops", "https://cdn.example.com/a.png"),
    "integer": (42, 0, -7),
    "number": (1.5, -0.25),
    "boolean": (True, False),
    "null": (None,),
    "array": (["x"], []),
    "object": ({"k": "v"}, {}),
}


@dataclass(frozen=True, slots=True)
class Case:
    """One corpus body, what it was built to test, and the verdict it was built for."""

    label: str
    body: bytes
    valid: bool


# -- what the contract says -----------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str
    schema: Mapping[str, Any]  # resolved
    required: bool
    types: frozenset[str]  # JSON types the schema admits ("" = any)
    union: Union | None  # the asset union at this property (directly or as array items)
    max_length: int | None
    max_items: int | None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {str: "string", float: "number", list: "array", dict: "object"}.get(type(value), "")


class _Contract:
    """The parts of the compiled contract the generator needs, looked up once."""

    def __init__(self, contract: Contract) -> None:
        self.spec: Spec = contract.spec
        variants = contract.request.variants
        if variants is None:
            raise ValueError("the request body is not a discriminated union; no corpus plan")
        self.union = variants
        self.variants: dict[str, tuple[Branch, list[_Field]]] = {
            value: (branch, self._fields(branch)) for value, branch in variants.branches.items()
        }

    def _fields(self, branch: Branch) -> list[_Field]:
        unions = {loc[0]: union for loc, union in branch.unions if loc}
        out = []
        for name, node in (branch.schema.get("properties") or {}).items():
            schema = self.spec.resolve(node)
            out.append(_Field(
                name=name,
                schema=schema,
                required=name in branch.required,
                types=self.types(schema),
                union=unions.get(name),
                max_length=self._limit(schema, "maxLength"),
                max_items=self._limit(schema, "maxItems"),
            ))
        return out

    def types(self, node: Any) -> frozenset[str]:
        node = self.spec.resolve(node)
        if not isinstance(node, dict):
            return frozenset({""})
        if is_union(node):
            return frozenset({"object"})
        if "const" in node:
            return frozenset({_json_type(node["const"])})
        found: set[str] = set()
        declared = node.get("type")
        if isinstance(declared, str):
            found.add(declared)
        elif isinstance(declared, list):
            found.update(str(t) for t in declared)
        for key in ("anyOf", "oneOf"):
            for sub in node.get(key) or []:
                found |= self.types(sub)
        if "number" in found:
            found.add("integer")
        return frozenset(found or {""})

    def _limit(self, node: Any, keyword: str) -> int | None:
        node = self.spec.resolve(node)
        if not isinstance(node, dict):
            return None
        if isinstance(node.get(keyword), int):
            return int(node[keyword])
        for key in ("anyOf", "oneOf"):
            for sub in node.get(key) or []:
                found = self._limit(sub, keyword)
                if found is not None:
                    return found
        return None


# -- valid values -------------------------------------------------------------------


class _Maker:
    """Schema-driven values with realistic contents for the fields we know by name."""

    def __init__(self, plan: _Contract, rng: random.Random) -> None:
        self.plan = plan
        self.rng = rng

    def text(self, low: int, high: int) -> str:
        """Prose of ``low``..``high`` code points, astral characters included."""
        rng = self.rng
        target = rng.randint(low, high)
        words: list[str] = []
        size = 0
        while size < target:
            word = rng.choice(_WORDS)
            words.append(word)
            size += len(word) + 1
        text = " ".join(words)[:target]
        return text if len(text) == target else text.ljust(target, "…")

    def name(self) -> str:
        return self.rng.choice(_FIRST) + self.rng.choice(_LOOK)

    def string(self, field: str, schema: Mapping[str, Any], kind: str) -> str:
        rng = self.rng
        limit = schema.get("maxLength")
        high = int(limit) if isinstance(limit, int) else 300
        if field == "name":
            return self.name()
        if field == "prompt":
            # Mostly a sentence or two; sometimes right up to the limit.
            return self.text(high, high) if rng.random() < 0.1 else self.text(20, min(high, 400))
        if field == "url":
            ext = rng.choice(_EXT[kind])
            return f"https://{rng.choice(_HOSTS)}/{rng.getrandbits(64):016x}/{rng.randint(1, 999)}.{ext}"
        if field == "asset_id":
            return f"{rng.getrandbits(128):032x}"
        if field == "data":
            return base64.b64encode(rng.randbytes(rng.randint(24, 1200))).decode("ascii")
        if field == "media_type":
            return rng.choice(_MEDIA[kind])
        if field == "avatar_group_id":
            return f"ag_{rng.getrandbits(48):012x}"
        return self.text(1, min(high, 40))

    def asset(self, union: Union, source: str, kind: str) -> dict[str, Any]:
        branch = union.branches[source]
        out: dict[str, Any] = {}
        for name, node in (branch.schema.get("properties") or {}).items():
            schema = self.plan.spec.resolve(node)
            if name == union.property:
                out[name] = source
            elif name in branch.required or self.rng.random() < 0.5:
                out[name] = self.value(name, schema, kind)
        return out

    def value(self, field: str, schema: Mapping[str, Any], kind: str) -> Any:
        """A value ``schema`` accepts, realistic when ``field`` is a name we know."""
        rng = self.rng
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            subs = schema.get(key)
            if isinstance(subs, list) and subs:
                return self.value(field, self.plan.spec.resolve(rng.choice(subs)), kind)
        types = self.plan.types(schema)
        kind_of = rng.choice(sorted(types))
        if kind_of == "string" or kind_of == "":
            return self.string(field, schema, kind)
        if kind_of == "integer":
            return rng.randint(0, 1000)
        if kind_of == "number":
            return rng.random() * 100
        if kind_of == "boolean":
            return rng.random() < 0.5
        if kind_of == "array":
            items = self.plan.spec.resolve(schema.get("items") or {})
            return [self.value(field, items, kind) for _ in range(rng.randint(0, 2))]
        if kind_of == "object":
            return {}
        return None


@dataclass(frozen=True)
class _Valid:
    variant: str
    body: dict[str, Any]
    label: str


def _valid_body(plan: _Contract, make: _Maker, index: int) -> _Valid:
    """The ``index``-th valid body; indices cycle through every variant × source × count."""
    rng = make.rng
    names = sorted(plan.variants)
    variant = names[index % len(names)]
    fields = plan.variants[variant][1]
    step = index // len(names)
    kind = _KIND_BY_VARIANT.get(variant, "image/")
    body: dict[str, Any] = {}
    tags = [variant]
    for field in fields:
        if field.name == plan.union.property:
            body[field.name] = variant
            continue
        union = field.union
        sources = sorted(union.branches) if union else []
        if union is not None and "object" in field.types and field.max_items is None:
            source = sources[step % len(sources)]
            body[field.name] = make.asset(union, source, kind)
            tags.append(f"{field.name}={source}")
        elif union is not None:
            count = step % ((field.max_items or 3) + 1)
            if count == 0 and rng.random() < 0.5:
                if rng.random() < 0.5:
                    body[field.name] = None
                tags.append(f"{field.name}=none")
                continue
            items = [make.asset(union, sources[(step + i) % len(sources)], kind)
                     for i in range(count)]
            body[field.name] = items
            tags.append(f"{field.name}={count}")
        elif field.required:
            body[field.name] = make.value(field.name, field.schema, kind)
        else:
            # Optional scalars: absent, null (when allowed) or a value, in turn.
            choice = (step // 3) % 3
            if choice == 1:
                body[field.name] = make.value(field.name, field.schema, kind)
            elif choice == 2 and "null" in field.types:
                body[field.name] = None
    refs = [f for f in fields if f.union is not None and f.max_items is not None]
    group = next((f for f in fields if f.name == "avatar_group_id"), None)
    if group is not None and any(body.get(f.name) for f in refs) and rng.random() < 0.85:
        # Reference images only work with a group; most real callers send one.
        body[group.name] = make.value(group.name, {"type": "string"}, kind)
    _maybe_suspect(make, body, tags)
    return _Valid(variant, body, "valid/" + "/".join(tags))


def _maybe_suspect(make: _Maker, body: dict[str, Any], tags: list[str]) -> None:
    """Now and then, something schema-valid that deserves a warning."""
    rng = make.rng
    if rng.random() >= 0.12:
        return
    # (tag, object to change, key, new value)
    options: list[tuple[str, dict[str, Any], str, Any]] = [
        ("warn:unknown_field", body, rng.choice(_SUSPECT_FIELDS), "x"),
    ]
    if "name" in body:
        options.append(("warn:empty_name", body, "name", rng.choice(("", " "))))
    for asset in _assets_in(body):
        if "url" in asset:
            options.append(("warn:http", asset, "url",
                            str(asset["url"]).replace("https://", "http://", 1)))
        if "data" in asset:
            options.append(("warn:base64", asset, "data",
                            "data:image/png;base64," + str(asset["data"])[:40]))
        if "media_type" in asset:
            options.append(("warn:media_type", asset, "media_type", "application/pdf"))
    tag, target, key, value = rng.choice(options)
    target[key] = value
    tags.append(tag)


def _assets_in(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for value in body.values():
        if isinstance(value, dict):
            yield value
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, dict))


# -- invalid bodies: one broken constraint each -------------------------------------

Mutation = Callable[[dict[str, Any], random.Random], Any]


def _drop(key: str) -> Mutation:
    def apply(body: dict[str, Any], rng: random.Random) -> Any:
        body.pop(key, None)
        return body
    return apply


def _put(key: str, value: Any) -> Mutation:
    def apply(body: dict[str, Any], rng: random.Random) -> Any:
        body[key] = value
        return body
    return apply


def _replace_body(value: Any) -> Mutation:
    return lambda body, rng: value


def _at_asset(field: str, index: int | None, inner: Callable[[dict[str, Any]], Any]) -> Mutation:
    """Apply ``inner`` to the asset at ``field`` (or ``field[index]``); it returns the new asset."""
    def apply(body: dict[str, Any], rng: random.Random) -> Any:
        if index is None:
            body[field] = inner(body[field])
        else:
            body[field][index] = inner(body[field][index])
        return body
    return apply


Change = Callable[[dict[str, Any]], Any]


def _becomes(value: Any) -> Change:
    return lambda asset: value


def _without(key: str) -> Change:
    return lambda asset: {k: v for k, v in asset.items() if k != key}


def _with(key: str, value: Any) -> Change:
    return lambda asset: {**asset, key: value}


def _asset_mutations(plan: _Contract, union: Union) -> list[tuple[str, Change, str]]:
    """(label, change, source needed) for every way one asset can break its union."""
    prop = union.property
    out: list[tuple[str, Change, str]] = []
    any_source = sorted(union.branches)[0]
    for value in _NON_OBJECT_BODIES[:5]:
        out.append((f"asset_not_object:{_json_type(value)}", _becomes(value), any_source))
    out.append(("asset_missing_discriminator", _without(prop), any_source))
    for value in _UNKNOWN_DISCRIMINATORS:
        out.append((f"asset_unknown_discriminator:{value!r}", _with(prop, value), any_source))
    for value in _NON_STRINGS:
        out.append((f"asset_discriminator_not_string:{value!r}", _with(prop, value), any_source))
    for source, branch in sorted(union.branches.items()):
        props = branch.schema.get("properties") or {}
        for name in branch.required:
            if name != prop:
                out.append((f"asset_missing:{source}.{name}", _without(name), source))
        if branch.closed:
            others = sorted(set().union(*(b.properties for b in union.branches.values()))
                            - branch.properties)
            for extra in ("content_type", "filename", *others[:1]):
                out.append((f"asset_additional:{source}.{extra}", _with(extra, "image/png"),
                            source))
        for name, node in props.items():
            if name == prop:
                continue
            allowed = plan.types(node)
            for wrong in _wrong_values(allowed)[:2]:
                out.append((f"asset_wrong_type:{source}.{name}:{_json_type(wrong)}",
                            _with(name, wrong), source))
    return out


def _wrong_values(allowed: frozenset[str]) -> list[Any]:
    if "" in allowed:
        return []
    return [v for t, vals in _WRONG_BY_TYPE.items() if t not in allowed for v in vals[:1]]


def _mutations(plan: _Contract) -> list[tuple[str, str, Mutation, str]]:
    """(variant, label, mutation, needed asset source or "") for every single-constraint break."""
    prop = plan.union.property
    out: list[tuple[str, str, Mutation, str]] = []
    for variant, (_branch, fields) in sorted(plan.variants.items()):
        for field in fields:
            if field.required:
                label = "missing_discriminator" if field.name == prop else f"missing:{field.name}"
                out.append((variant, label, _drop(field.name), ""))
            if field.name == prop:
                continue
            for wrong in _wrong_values(field.types):
                out.append((variant, f"wrong_type:{field.name}:{_json_type(wrong)}",
                            _put(field.name, wrong), ""))
            if field.max_length is not None:
                over = field.max_length + 1
                out.append((variant, f"max_length:{field.name}",
                            _put(field.name, _over_length(over)), ""))
            if field.union is not None and field.max_items is not None:
                out.append((variant, f"max_items:{field.name}",
                            _too_many(field.name, field.union, field.max_items + 1), ""))
            if field.union is not None:
                index = None if field.max_items is None else 0
                for label, change, source in _asset_mutations(plan, field.union):
                    out.append((variant, f"{field.name}:{label}",
                                _at_asset(field.name, index, change), source))
        for value in _UNKNOWN_DISCRIMINATORS:
            out.append((variant, f"unknown_discriminator:{value!r}", _put(prop, value), ""))
        for value in _NON_STRINGS:
            out.append((variant, f"discriminator_not_string:{value!r}",
                        _put(prop, value), ""))
    for value in _NON_OBJECT_BODIES:
        out.append(("", f"body_not_object:{value!r}", _replace_body(value), ""))
    return out


def _over_length(size: int) -> str:
    # Astral characters count once each in JSON Schema; a UTF-16 count would differ.
    unit = "𝒜bc😀 "
    return (unit * (size // len(unit) + 1))[:size]


def _too_many(field: str, union: Union, count: int) -> Mutation:
    def apply(body: dict[str, Any], rng: random.Random) -> Any:
        items = list(body.get(field) or [])
        while len(items) < count:
            items.append(items[-1] if items else {union.property: "asset_id", "asset_id": "a1"})
        body[field] = items
        return body
    return apply


# -- the corpus ---------------------------------------------------------------------


def _encode(value: Any, rng: random.Random) -> bytes:
    """Serialise as assorted clients do: compact UTF-8, ASCII-escaped, or pretty-printed."""
    style = rng.random()
    if style < 0.6:
        return orjson.dumps(value)
    if style < 0.85:
        return json.dumps(value).encode("ascii")  # Python's default escapes non-ASCII
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def _needs(body: dict[str, Any], fields: list[_Field], source: str, label: str) -> bool:
    """Whether ``body`` has the asset the mutation ``label`` works on."""
    name = label.split(":", 1)[0]
    field = next((f for f in fields if f.name == name), None)
    if field is None or field.union is None or not label.startswith(f"{name}:"):
        return True
    value = body.get(name)
    asset = value[0] if isinstance(value, list) and value else value
    if not isinstance(asset, dict):
        return False
    return not source or asset.get(field.union.property) == source


def cases(size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED,
          spec: Spec | str | None = None) -> list[Case]:
    """``size`` labelled bodies (half valid, half invalid), deterministic for ``seed``."""
    plan = _Contract(contract_for(spec))
    rng = random.Random(seed)
    make = _Maker(plan, rng)
    n_valid = size - size // 2
    valid = [_valid_body(plan, make, i) for i in range(n_valid)]
    out = [Case(v.label, _encode(v.body, rng), True) for v in valid]

    mutations = _mutations(plan)
    invalid: list[Case] = []
    attempt = 0
    while len(invalid) < size // 2:
        variant, label, mutate, source = mutations[attempt % len(mutations)]
        attempt += 1
        fields = plan.variants[variant][1] if variant else []
        # A base of the right variant that has the asset the mutation needs.
        for _ in range(200):
            base = _valid_body(plan, make, rng.randrange(1 << 16) * len(plan.variants)
                               + sorted(plan.variants).index(variant or sorted(plan.variants)[0]))
            if _needs(base.body, fields, source, label):
                break
        else:
            continue
        broken = mutate(json.loads(json.dumps(base.body)), rng)
        invalid.append(Case(f"invalid/{variant or 'body'}/{label}", _encode(broken, rng), False))
    out.extend(invalid)
    # Interleave so any prefix of the corpus is a fair mix.
    rng.shuffle(out)
    return out


def corpus(size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED,
           spec: Spec | str | None = None) -> list[bytes]:
    """Just the bodies of :func:`cases`."""
    return [case.body for case in cases(size, seed, spec)]


if __name__ == "__main__":
    from collections import Counter

    built = cases()
    kinds = Counter(c.label.split("/")[0] for c in built)
    sizes = sorted(len(c.body) for c in built)
    print(f"{len(built)} bodies: {dict(kinds)}; bytes median {sizes[len(sizes) // 2]}, "
          f"max {sizes[-1]}, total {sum(sizes)}")
    labels = Counter(c.label.split("/", 2)[-1].split(":")[0] for c in built if not c.valid)
    print(f"{len(labels)} invalid label families")
