"""The entries of a JSON document's array, one at a time, with memory bounded by the largest entry.

HAR (``log.entries``) and WireMock journals (``requests``) are one JSON document
each; reading it whole holds every body of the file at once.  ``JsonEntries``
reads the text in chunks, walks the objects on the way to the array (anything
else is read and dropped, one member at a time) and decodes the array's
elements one by one: ``json.JSONDecoder.raw_decode`` finds where each ends
(reading more while it is cut short), and msgspec decodes it, as the whole file
used to be, so every value, and what is refused, stays the same.

A syntax error names the entry it is in and its line and column in the file;
``read_at`` lets a reader come back to an entry (WireMock judges
oldest first, and its journals are newest first).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import IO, Any

import msgspec

_CHUNK = 1 << 16
_WHITESPACE = " \t\n\r"
# A decoding error this close to the end of what was read may only mean the entry goes on.
_NEAR_END = 8


class BadJSON(ValueError):
    """Not valid JSON: the message, and the entry it was found in (None: outside the array)."""

    def __init__(self, message: str, entry: int | None) -> None:
        super().__init__(message)
        self.entry = entry


class NotFound(LookupError):
    """The document has no array at the path (or something else there)."""


class JsonEntries:
    """``JsonEntries(stream).items(("log", "entries"))``: (index, value, byte offset) of each element."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        # A byte that is not UTF-8 is kept as a lone surrogate (surrogateescape) and refused when the
        # value holding it is decoded: so the error names that entry, not one read before it.
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.text = ""
        self.pos = 0
        self.eof = False
        self.start_bytes = 0  # where ``text`` starts in the file
        self.ascii = True  # whether ``text`` is ASCII (then a character is a byte)
        self.lines = 1  # the line ``text`` starts on
        self.line_start = 0  # in ``text`` coordinates (negative: the line began before it)
        self.entry: int | None = None
        self._scanner = json.JSONDecoder()

    # -- reading -----------------------------------------------------------------------------------
    def _more(self) -> bool:
        """Read on (at least as much again as is held, so an entry that is cut is re-tried a few times
        only); False at the end of the file."""
        if self.eof:
            return False
        if self.pos > len(self.text) // 2:
            self._drop(self.pos)
        chunk = self.stream.read(max(_CHUNK, len(self.text)))
        piece = self.decoder.decode(chunk, final=not chunk)
        self.eof = not chunk
        self.ascii = self.ascii and piece.isascii()
        self.text += piece
        return bool(chunk) or bool(piece)

    def _bytes(self, text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")  # the bytes read, whatever they are

    def _drop(self, upto: int) -> None:
        gone = self.text[:upto]
        self.start_bytes += upto if self.ascii else len(self._bytes(gone))
        newlines = gone.count("\n")
        if newlines:
            self.lines += newlines
            self.line_start = gone.rindex("\n") + 1 - upto
        else:
            self.line_start -= upto
        self.text, self.pos = self.text[upto:], self.pos - upto
        self.ascii = self.text.isascii()

    def offset(self, at: int) -> int:
        """The byte offset in the file of ``text[at]``."""
        return self.start_bytes + (at if self.ascii else len(self._bytes(self.text[:at])))

    def _where(self, at: int) -> str:
        before = self.text[:at]
        newlines = before.count("\n")
        line = self.lines + newlines
        column = at - (before.rindex("\n") + 1 if newlines else self.line_start) + 1
        return f"line {line}, column {column}"

    def _next(self) -> str:
        """The next character that is not whitespace ("" at the end of the file), not consumed."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(text) or not self._more():
                return text[pos] if pos < len(text) else ""

    def _bad(self, message: str, at: int) -> BadJSON:
        return BadJSON(f"not valid JSON: {message} at {self._where(at)}", self.entry)

    def _expect(self, wanted: str, what: str) -> None:
        found = self._next()
        if found != wanted:
            raise self._bad(f"expected {what}, found {repr(found) if found else 'the end of the file'}", self.pos)
        self.pos += 1

    def _value(self) -> tuple[Any, int, int]:
        """The next value (as msgspec reads it), where it starts in ``text`` and its size in bytes."""
        self._next()
        while True:
            start = self.pos
            try:
                _, end = self._scanner.raw_decode(self.text, start)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.text) - _NEAR_END or exc.msg.startswith("Unterminated string")
                if cut and self._more():
                    continue
                raise self._bad(exc.msg, exc.pos) from None
            except RecursionError:
                raise self._bad("nested too deeply", start) from None
            if end >= len(self.text) and self._more():
                continue  # a number may go on past what was read
            try:
                raw = self.text[start:end].encode("utf-8")
            except UnicodeEncodeError as exc:
                raise self._bad("not UTF-8", start + exc.start) from None
            try:
                value = msgspec.json.decode(raw)
            except msgspec.DecodeError as exc:  # what the stdlib allows and msgspec does not (NaN, a lone surrogate)
                raise self._bad(str(exc), start) from None
            self.pos = end
            return value, start, len(raw)

    def _members(self) -> Iterator[str]:
        """The keys of the object whose '{' was just read, each before its value (which the caller
        reads, or skips with ``_value``); its '}' is read after the last."""
        if self._next() == "}":
            self.pos += 1
            return
        while True:
            if self._next() != '"':
                self._expect('"', "a key")
            key = self._value()[0]
            self._expect(":", "':'")
            yield str(key)
            found = self._next()
            self.pos += 1
            if found == "}":
                return
            if found != ",":
                self.pos -= 1
                self._expect(",", "',' or '}'")

    def items(self, path: tuple[str, ...]) -> Iterator[tuple[int, Any, int, int]]:
        """(index, value, byte offset, size in bytes) of each element of the array at ``path``;
        ``NotFound`` when there is none there, ``BadJSON`` on a syntax error (after the array, the rest
        of the file is read too)."""
        if self._next() != "{":
            self._value()  # JSON, but no object (NotFound), or not JSON at all (BadJSON, as a BOM is)
            raise NotFound()
        self.pos += 1
        open_objects = []
        for depth, name in enumerate(path):
            members = self._members()
            open_objects.append(members)
            for key in members:
                if key == name:
                    break
                self._value()
            else:
                raise NotFound()
            if self._next() != ("[" if depth == len(path) - 1 else "{"):
                raise NotFound()
            self.pos += 1
        yield from self._elements()
        for members in reversed(open_objects):  # the members after the array: still JSON to check
            for _ in members:
                self._value()
        if self._next():
            raise self._bad("more after the document", self.pos)

    def _elements(self) -> Iterator[tuple[int, Any, int, int]]:
        index = 0
        if self._next() == "]":
            self.pos += 1
            return
        while True:
            self.entry = index
            value, start, size = self._value()
            yield index, value, self.offset(start), size
            found = self._next()
            self.pos += 1
            if found == "]":
                self.entry = None
                return
            if found != ",":
                self.pos -= 1
                self._expect(",", "',' or ']'")
            index += 1


def read_at(stream: IO[bytes], offset: int, size: int) -> Any:
    """The element ``items`` found at byte ``offset``, ``size`` bytes long, read again."""
    stream.seek(offset)
    return msgspec.json.decode(stream.read(size))
