"""Where in the source text a JSON Pointer's value starts: line and column for findings.

The linter works on parsed values, which have no positions.  For the files
that do have findings, one small pass over the raw text tracks the pointer of
each value it meets and keeps the start of those asked for.  It is iterative
(a document nested 1,000 deep is fine), tolerates invalid JSON (it stops at the
first token it cannot place and keeps what it found) and never raises.

Positions are 1-based; columns count Unicode code points, which is what editors
and SARIF's ``columnKind: unicodeCodePoints`` mean by a column.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ._payload import Raw

# One token: punctuation, a string (escapes kept), or a bare literal (number, true, ...).
_TOKEN = re.compile(r'[ \t\n\r]*(?:([{}\[\]:,])|("[^"\\]*(?:\\.[^"\\]*)*")|([^ \t\n\r{}\[\]:,"]+))', re.DOTALL)


@dataclass(frozen=True)
class Position:
    line: int
    column: int


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _key(literal: str) -> str | None:
    if "\\" not in literal:
        return literal[1:-1]
    try:
        value = json.loads(literal)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _prefixes(pointer: str) -> Iterable[str]:
    yield pointer
    while pointer:
        pointer = pointer[: pointer.rfind("/")]
        yield pointer


class _Frame:
    __slots__ = ("index", "is_array", "key", "pointer")

    def __init__(self, pointer: str, is_array: bool) -> None:
        self.pointer = pointer
        self.is_array = is_array
        self.index = 0
        self.key: str | None = None


def _starts(text: str, wanted: set[str]) -> dict[str, int]:
    """Character offset of the value at each wanted pointer that the text contains."""
    found: dict[str, int] = {}
    stack: list[_Frame] = []
    state, pointer, offset = "value", "", 0
    while True:
        match = _TOKEN.match(text, offset)
        if match is None:
            return found
        punct, string, bare = match.groups()
        start = match.start(1) if punct else match.start(2) if string else match.start(3)
        offset = match.end()
        token = punct or string or bare
        if state in ("value", "first"):
            if state == "first" and token == "]":
                stack.pop()
                state = "after"
                continue
            if pointer in wanted:
                found[pointer] = start  # the last duplicate key wins, as in the parsed value
            if token == "{":
                stack.append(_Frame(pointer, is_array=False))
                state = "key"
            elif token == "[":
                stack.append(_Frame(pointer, is_array=True))
                state, pointer = "first", pointer + "/0"
            elif punct:
                return found
            else:
                state = "after"
        elif state == "key":
            frame = stack[-1]
            if token == "}" and frame.key is None:
                stack.pop()
                state = "after"
                continue
            key = _key(token) if string else None
            if key is None:
                return found
            frame.key, state = key, "colon"
        elif state == "colon":
            if token != ":":
                return found
            frame = stack[-1]
            state, pointer = "value", f"{frame.pointer}/{_escape(frame.key or '')}"
        else:  # after a value
            if not stack:
                return found
            frame = stack[-1]
            if token == ",":
                if frame.is_array:
                    frame.index += 1
                    state, pointer = "value", f"{frame.pointer}/{frame.index}"
                else:
                    state = "key"
            elif token == ("]" if frame.is_array else "}"):
                stack.pop()
            else:
                return found


def locate(raw: Raw, pointers: Iterable[str]) -> dict[str, Position]:
    """Position of each pointer's value; a pointer to something absent (a missing
    required field) gets its nearest present ancestor's, so ``/file/url`` points at
    the ``file`` object it is missing from.  Pointers it cannot place are left out."""
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return {}
    # A byte order mark is not a column an editor shows: positions count from after it.
    text = text.removeprefix("\ufeff")
    asked = set(pointers)
    wanted = {prefix for pointer in asked for prefix in _prefixes(pointer)}
    starts = _starts(text, wanted)
    newlines = [match.start() for match in re.finditer("\n", text)] if starts else []

    def position(offset: int) -> Position:
        line = bisect.bisect_left(newlines, offset)
        line_start = newlines[line - 1] + 1 if line else 0
        return Position(line + 1, offset - line_start + 1)

    located: dict[str, Position] = {}
    for pointer in asked:
        for prefix in _prefixes(pointer):
            if prefix in starts:
                located[pointer] = position(starts[prefix])
                break
    return located


def value_span(text: str, pointer: str) -> tuple[str, int, int] | None:
    """Where ``pointer``'s value lies in ``text``: (the pointer found, start, end) as character
    offsets; for an absent member, its nearest present ancestor.  None when nothing is found."""
    starts = _starts(text, set(_prefixes(pointer)))
    for prefix in _prefixes(pointer):
        if prefix in starts:
            start = starts[prefix]
            try:
                end = json.JSONDecoder().raw_decode(text, start)[1]
            except (ValueError, RecursionError):
                end = min(len(text), start + 1)
            return prefix, start, end
    return None


def locate_yaml(text: str, pointers: Iterable[str]) -> dict[str, Position]:
    """The same for a YAML (or JSON) spec, from the YAML parser's node marks: the
    spec audit's findings point into the spec, and code scanning shows them there."""
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError):
        return {}
    located: dict[str, Position] = {}
    for pointer in set(pointers):
        node = root
        for raw_token in pointer.split("/")[1:] if pointer else []:
            token = raw_token.replace("~1", "/").replace("~0", "~")
            child = None
            if isinstance(node, yaml.MappingNode):
                child = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == token), None)
            elif isinstance(node, yaml.SequenceNode) and token.isdigit() and int(token) < len(node.value):
                child = node.value[int(token)]
            if child is None:
                break  # absent (a normalised-only node): the nearest ancestor present
            node = child
        if node is not None:
            located[pointer] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
    return located
