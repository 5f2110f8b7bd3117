"""``--asset FILE``: the user's real inputs for a live run, mapped onto the spec's asset sources.

A live API checks that an asset exists, so invented ids and example.com URLs
are refused for reasons that have nothing to do with the contract.  The
fixture names, per media kind, a real value for each asset source the user
has, keyed by the source's discriminator value in the spec (``url``,
``asset_id``, ... whatever the request's asset unions define), plus optionally
an existing group id::

    avatar_group_id = "..."            # the spec's group property, optional

    [image]
    url = "https://cdn.example.com/anna.jpg"
    asset_id = "..."

    [video]
    url = "https://cdn.example.com/anna.mp4"

A source whose branch needs one field takes a string; a file source
(base64 ``data``) takes a path to the file, read and encoded here; any source
also takes a table of its fields.  Sources not given are not used on a real
target (base64 ones fall back to the packaged samples), and the cases that
need them are reported as not runnable with what to add.  Every entry is
checked by building it into a body and linting it (strict, warnings too).
"""

from __future__ import annotations

import base64
import difflib
import json
import mimetypes
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..probes.bodies import MEDIA_KINDS, MEDIA_TYPE_FIELDS, BodyFactory, Site, factory
from ..probes.schema_values import is_reference
from .target import Target

ASSET_ENV = "AVATAR_CONTRACT_ASSET"
MAX_FIXTURE_BYTES = 1 << 20
MAX_FILE_BYTES = 8 << 20  # a base64 file; the body stays well below common request limits
Fields = tuple[tuple[str, str], ...]


class AssetError(ValueError):
    """An unusable fixture; the message is one line ending in where the problem is."""


@dataclass(frozen=True)
class AssetFixture:
    """Validated real inputs.  Hashable (a Target field, a factory cache key)."""

    source: str
    assets: tuple[tuple[str, str, Fields], ...] = ()  # (media kind, asset source, fields)
    group_id: str | None = None
    references: tuple[tuple[str, str], ...] = ()  # (optional id property, an existing resource's id)

    def reference(self, prop: str) -> str | None:
        return dict(self.references).get(prop)

    def fields(self, kind: str, source: str) -> dict[str, str] | None:
        for k, s, fields in self.assets:
            if (k, s) == (kind, source):
                return dict(fields)
        return None

    def describe(self) -> str:
        given = [f"{kind}.{source}" for kind, source, _ in self.assets]
        if self.group_id:
            given.append("a group id")
        return f"{self.source} ({', '.join(given) or 'nothing'})"

    def __repr__(self) -> str:
        return f"AssetFixture({self.describe()})"


def _fail(problem: str, hint: str, where: str) -> AssetError:
    return AssetError(f"{problem}; {hint} (at {where})")


def _read(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > MAX_FIXTURE_BYTES:
            raise _fail(f"the asset fixture is {size} bytes", f"keep it under {MAX_FIXTURE_BYTES} bytes: "
                        "it lists ids and URLs, and base64 files by path", str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail("no such asset fixture", "pass the path of a .toml or .json file", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read the asset fixture ({exc.__class__.__name__})",
                    "pass a readable UTF-8 .toml or .json file", str(path)) from None
    as_json = path.suffix.lower() == ".json" or (path.suffix.lower() != ".toml" and text.lstrip().startswith("{"))
    try:
        data = json.loads(text) if as_json else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"not JSON: {exc.msg}", "fix the syntax", f"{path}:{exc.lineno}:{exc.colno}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(f"not TOML: {exc}", "fix the syntax (or name the file .json)", str(path)) from None
    if not isinstance(data, dict):
        raise _fail("the asset fixture must be a table/object", "see the example in the README", str(path))
    return data


def _unknown(key: str, allowed: list[str], where: str, what: str, listed: str = "allowed") -> AssetError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return _fail(f"unknown {what} {key!r}", f"{hint}{listed}: {', '.join(allowed)}", where)


def _sources(f: BodyFactory) -> dict[str, tuple[str, Site]]:
    """Every asset source the spec's request unions define: source -> (variant, a site with it)."""
    out: dict[str, tuple[str, Site]] = {}
    for variant in f.variants:
        for site in f.sites(variant):
            for source in site.union.values:
                out.setdefault(source, (variant, site))
    return out


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"expected a non-empty string, got {json.dumps(value)[:60]}",
                    "give the real value as a quoted string", where)
    return value


def _file_fields(f: BodyFactory, site: Site, source: str, value: str, base: Path, where: str) -> Fields:
    path = (base / value).expanduser()
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else None
    except OSError:
        raise _fail(f"cannot read {value!r}", "give the path of a real file (relative to the fixture)",
                    where) from None
    if data is None:
        raise _fail(f"{value!r} is larger than {MAX_FILE_BYTES} bytes", "use a smaller file, or a url", where)
    media, _ = mimetypes.guess_type(path.name)
    if media is None:
        raise _fail(f"cannot tell the media type of {value!r}", "use a file name with a known extension "
                    "(.png, .jpg, .mp4, …) or a table with the fields", where)
    branch = site.union.branches[source]
    out = {"data": base64.b64encode(data).decode("ascii")}
    for name in branch.required:
        if name in MEDIA_TYPE_FIELDS:
            out[name] = media
    return tuple(sorted(out.items()))


def _entry(f: BodyFactory, site: Site, kind: str, source: str, value: Any, base: Path, where: str) -> Fields:
    branch = site.union.branches[source]
    own = [name for name in branch.required if name != site.union.property]
    if isinstance(value, Mapping):
        allowed = sorted(branch.properties - {site.union.property})
        for key in value:
            if key not in allowed:
                raise _unknown(str(key), allowed, f"{where}.{key}", f"field of a {source} asset")
        for name in own:
            if name not in value:
                raise _fail(f"{source} assets need {name!r}", f"add {name} = \"...\"", where)
        fields = tuple(sorted((str(k), _string(v, f"{where}.{k}")) for k, v in value.items()))
        if "url" in value:
            _media_of_url(str(value["url"]), kind, f"{where}.url")
        return fields
    text = _string(value, where)
    if f.is_file_source(site, source):
        return _file_fields(f, site, source, text, base, where)
    if len(own) != 1:
        raise _fail(f"{source} assets have several fields ({', '.join(own)})",
                    "give a table with each of them", where)
    if own[0] == "url":
        _media_of_url(text, kind, where)
    return ((own[0], text),)


def _media_of_url(url: str, kind: str, where: str) -> None:
    """Catch an image URL under [video] (or the reverse) by its extension: a swap users make."""
    media, _ = mimetypes.guess_type(url.split("?", 1)[0].split("#", 1)[0])
    major = media.split("/", 1)[0] if media else None
    if major in MEDIA_KINDS and major != kind:
        raise _fail(f"{url!r} looks like a {major} file, listed under [{kind}]",
                    f"move it under [{major}] or give {_a(kind)} URL", where)


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _check(f: BodyFactory, kind: str, source: str, where: str) -> None:
    """Build every body the entry can appear in and lint it: any finding is the user's to fix."""
    checked = False
    for variant in f.variants:
        for site in f.sites(variant):
            if source not in site.union.values or f.media_kind(variant, site) != kind:
                continue
            # A list site (reference images) is only used with a group; any id will do for linting.
            group = (f.existing_group or "avatar-contract-check") if site.many else None
            body = f.body(variant, sources={site.field: [source] if site.many else source}, group=group)
            findings = f.linter.lint_request(body).findings
            if findings:
                raise _fail(findings[0].message, findings[0].hint or "use a real value", where)
            checked = True
    if not checked:
        raise _fail(f"no asset place in the spec takes a {kind} {source}",
                    "remove it (or check the media kind)", where)


def load_assets(path: str | Path) -> AssetFixture:
    """Read and validate an asset fixture against the active spec; raises :class:`AssetError`."""
    where = Path(path)
    data = _read(where)
    plain = factory()  # the spec's shape, with invented values where the fixture says nothing
    sources = _sources(plain)
    group_props = sorted({p for v in plain.variants if (p := plain.group_property(v))})
    # Any other optional id property of the spec that names an existing resource (June 2026: avatar_id).
    reference_props = sorted({p for v in plain.variants for p in plain.branch(v).properties
                              if is_reference(plain, v, p)})
    allowed = [*MEDIA_KINDS, *group_props, *reference_props]
    assets: list[tuple[str, str, Fields]] = []
    group_id: str | None = None
    references: list[tuple[str, str]] = []
    for key, value in data.items():
        here = f"{where}: {key}"
        if key in group_props:
            group_id = _string(value, here)
            continue
        if key in reference_props:
            references.append((key, _string(value, here)))
            continue
        if key not in MEDIA_KINDS:
            raise _unknown(key, allowed, here, "key")
        if not isinstance(value, Mapping):
            raise _fail(f"[{key}] must be a table of asset sources", f"e.g. [{key}] url = \"https://…\"", here)
        for source, entry in value.items():
            at = f"{here}.{source}"
            if source not in sources:
                raise _unknown(str(source), sorted(sources), at, "asset source",
                               "the spec's asset sources are")
            _, site = sources[source]
            assets.append((key, source, _entry(plain, site, key, source, entry, where.parent, at)))
    fixture = AssetFixture(str(where), tuple(assets), group_id, tuple(references))
    real = BodyFactory(plain.contract, fixture=fixture, invented=False)
    for kind, source, _ in assets:
        _check(real, kind, source, f"{where}: {kind}.{source}")
    return fixture


def bodies_for(target: Target) -> BodyFactory:
    """Bodies for ``target``: invented assets in-process, only real ones (``--asset``, samples) elsewhere."""
    return factory(target.assets, invented=target.embedded)


Place = tuple[str, tuple[str, ...]]  # (variant, location): ("photo", ("file",)), ("prompt", ("reference_images", "*"))


def available_sources(target: Target) -> dict[Place, tuple[str, ...]]:
    """For each place a variant carries an asset, the sources usable against ``target``.

    For the create planner and the verdicts: a fact that needs a source not
    listed for its place cannot be shown on this target (see :func:`missing_sources`).
    """
    f = bodies_for(target)
    return {(variant, site.loc): f.available(variant, site) for variant in f.variants for site in f.sites(variant)}


def missing_sources(target: Target) -> list[tuple[Place, str, str]]:
    """(place, source, what to add to the fixture) for every source ``target`` cannot be given."""
    f = bodies_for(target)
    return [((variant, site.loc), source, hint) for variant in f.variants
            for site, source, hint in f.unavailable(variant)]
