"""RFC 6901 JSON Pointers, which every report in the project speaks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def to_pointer(parts: Iterable[str | int]) -> str:
    """``["file", "url"]`` -> ``"/file/url"``; no parts is the root, ``""``."""
    return "".join("/" + escape(part) for part in parts)


def from_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"JSON Pointer must be empty or start with '/': {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def node_at(document: Any, pointer: str) -> Any:
    """The value at ``pointer`` in ``document``, or None where nothing is."""
    node = document
    for token in from_pointer(pointer):
        if isinstance(node, list):
            node = node[int(token)] if token.isdigit() and int(token) < len(node) else None
        else:
            node = node.get(token) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def defined_at(document: Any, pointer: str) -> tuple[Any, str]:
    """The node at ``pointer`` after local ``$ref`` hops (at most 32), and the pointer it is defined at."""
    node = node_at(document, pointer)
    for _ in range(32):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not (isinstance(ref, str) and ref.startswith("#")):
            break
        pointer = ref[1:]
        node = node_at(document, pointer)
    return node, pointer
