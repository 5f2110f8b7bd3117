"""Load an OpenAPI document and locate the Create Avatar operation in it."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from . import _cache
from ._defect import SpecDefect, SpecError
from ._normalise import normalise

VENDORED_NAME = "create-avatar.openapi.yaml"
OPERATION_PATH = "/v3/avatars"
OPERATION_METHOD = "post"
OPERATION_ID = "createAvatar"
# Every document gets the same base URI, so a "$ref" reads the same whichever file it came from.
SPEC_URI = "urn:avatar-contract:spec"
_MAX_BYTES = 32 * 1024 * 1024


def vendored_spec_path() -> Path:
    """The spec shipped inside the package (works from a wheel as well as a checkout)."""
    return Path(str(resources.files("avatar_contract.spec").joinpath(VENDORED_NAME)))


@dataclass(frozen=True, eq=False)
class Spec:
    """A loaded spec: the document as published and a normalised copy tools can read."""

    source: str
    raw: Mapping[str, Any]
    document: dict[str, Any]
    defects: tuple[SpecDefect, ...]
    path: str
    method: str
    _registry: Registry[Any] = field(repr=False, compare=False)

    @property
    def operation(self) -> dict[str, Any]:
        op: dict[str, Any] = self.document["paths"][self.path][self.method]
        return op

    @property
    def version(self) -> str:
        info = self.document.get("info") or {}
        return str(info.get("version", "unknown"))

    def resolve(self, node: Any) -> Any:
        """Follow ``$ref`` chains (with ``referencing``) until a non-reference node."""
        resolver = self._registry.resolver(base_uri=SPEC_URI)
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise SpecError(f"circular $ref chain at {ref!r}")
            seen.add(ref)
            try:
                resolved = resolver.lookup(ref)
            except Unresolvable as exc:
                raise SpecError(f"unresolvable $ref {ref!r}") from exc
            node, resolver = resolved.contents, resolved.resolver
        return node

    def ref_uri(self, pointer: str) -> str:
        """An absolute ``$ref`` for a JSON Pointer into the normalised document."""
        return f"{SPEC_URI}#{pointer}"

    @property
    def registry(self) -> Registry[Any]:
        return self._registry


def _stringify_keys(node: Any) -> Any:
    # YAML reads an unquoted `200:` as an int; JSON (and OpenAPI) keys are strings.
    if isinstance(node, dict):
        return {str(k): _stringify_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_stringify_keys(v) for v in node]
    return node


def _bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > _MAX_BYTES:
            raise SpecError(f"{path}: {size} bytes is larger than the {_MAX_BYTES}-byte limit")
        return path.read_bytes()
    except SpecError:
        raise
    except FileNotFoundError as exc:
        raise SpecError(f"{path}: no such file") from exc
    except OSError as exc:
        raise SpecError(f"{path}: cannot read ({exc})") from exc


def _parse(path: Path, content: bytes) -> dict[str, Any]:
    # PyYAML is imported here, not at the top: a cached load never needs it (spec/_cache.py).
    import yaml

    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: cannot read ({exc})") from exc
    try:
        # libyaml when PyYAML has it: the pure-Python reader is most of the
        # linter's start-up.  Same safe schema; libyaml caps nesting at 1,000.
        try:
            loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            data = yaml.load(text, Loader=loader)  # a SafeLoader: no arbitrary objects
        except yaml.YAMLError:
            # Read again with the pure-Python reader: its error marks are the ones
            # users know (libyaml puts an unclosed bracket at EOF on the next line).
            data = yaml.safe_load(text)
        if isinstance(data, dict):
            data = _stringify_keys(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML/JSON"
        raise SpecError(f"{path}: not YAML or JSON{where}: {problem}") from exc
    except RecursionError as exc:
        raise SpecError(f"{path}: nested too deeply to read") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: top level is {type(data).__name__}, not an OpenAPI object")
    result: dict[str, Any] = data
    return result


def _locate(document: Mapping[str, Any], source: str) -> tuple[str, str]:
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        raise SpecError(f"{source}: 'openapi' is {version or 'missing'!r}; need an OpenAPI 3.x document")
    paths = document.get("paths")
    if not isinstance(paths, dict):
        raise SpecError(f"{source}: document has no 'paths' object")
    item = paths.get(OPERATION_PATH)
    if isinstance(item, dict) and isinstance(item.get(OPERATION_METHOD), dict):
        return OPERATION_PATH, OPERATION_METHOD
    # A vendor may move the route; the operationId is the stable name.
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == OPERATION_ID:
                return path, method
    raise SpecError(
        f"{source}: no Create Avatar operation (POST {OPERATION_PATH} or operationId {OPERATION_ID!r})"
    )


def load_spec(path: str | os.PathLike[str] | None = None) -> Spec:
    """Load a spec file (YAML or JSON); the vendored one when ``path`` is None.

    Raises :class:`SpecError` with a one-line reason for anything unusable.
    Results are cached per file and modification time, so repeated loads are free.
    """
    target = Path(path) if path is not None else vendored_spec_path()
    try:
        stamp = target.stat()
    except OSError as exc:
        raise SpecError(f"{target}: no such file") from exc
    return _load_cached(str(target.resolve()), stamp.st_mtime_ns, stamp.st_size)


@functools.lru_cache(maxsize=16)
def _load_cached(source: str, _mtime: int, _size: int) -> Spec:
    content = _bytes(Path(source))
    entry_key = _cache.key(content)
    loaded = _cache.read(entry_key)
    if loaded is None:
        raw = _parse(Path(source), content)
        where = _locate(raw, source)
        document, defects = normalise(raw)
        loaded = {"raw": raw, "document": document, "defects": defects, "path": where[0], "method": where[1]}
        _cache.write(entry_key, loaded)
    document = loaded["document"]
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(document))
    return Spec(
        source=source,
        raw=loaded["raw"],
        document=document,
        defects=loaded["defects"],
        path=loaded["path"],
        method=loaded["method"],
        _registry=registry,
    )
