"""RFC 6901 JSON Pointers, which every report in the project speaks."""

from __future__ import annotations

from collections.abc import Iterable


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
