"""Which format a traffic file is in (by content), and its exchanges one at a time.

Detection reads the start of the file: a first line that is a whole journal
record is our NDJSON journal; otherwise the format is recognised by its keys
(``log.entries``: HAR; ``requests``: WireMock; ``http_interactions``: a VCR
cassette, YAML).  ``--format`` skips the guess.  Every format is streamed, one
entry in memory at a time, so memory does not grow with the file: NDJSON line by
line, HAR and WireMock by ``streaming.JsonEntries``, cassettes by ``vcr.interactions``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import msgspec

from avatar_contract.validators.journal import ExchangeRecord, loads_line

from . import har, vcr, wiremock
from .records import Malformed
from .streaming import BadJSON, JsonEntries, NotFound, read_at

FORMATS = ("ndjson", "har", "vcr", "wiremock")
_PEEK = 1 << 16


class TrafficError(Exception):
    """A file that cannot be read as traffic: one line naming the file and the entry."""

    def __init__(self, path: str, message: str, entry: int | None = None) -> None:
        where = f"{path}: entry {entry}" if entry is not None else path
        super().__init__(f"{where}: {message}")
        self.path, self.entry = path, entry


def detect(path: Path) -> str:
    """The format of ``path``, from its content."""
    try:
        with path.open("rb") as stream:
            head = stream.read(_PEEK)
    except OSError as exc:
        raise TrafficError(str(path), f"cannot read it: {exc.strerror or exc}") from None
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise TrafficError(str(path), "the file is empty: no traffic to judge")
    first = text.split(b"\n", 1)[0]
    try:
        line = msgspec.json.decode(first)
    except msgspec.DecodeError:
        line = None
    if isinstance(line, dict) and ("id" in line or "request" in line) and "log" not in line \
            and "requests" not in line:
        return "ndjson"  # a whole record on the first line (a bad one is refused naming its entry)
    if text.startswith((b"{", b"[")):
        if b'"log"' in head and b'"entries"' in head:
            return "har"
        if b'"requests"' in head:
            return "wiremock"
        raise TrafficError(str(path), "JSON, but neither a HAR file (log.entries), a WireMock journal (requests) "
                                      "nor a journal of ours (one record a line); pass --format")
    if b"http_interactions" in head:
        return "vcr"
    raise TrafficError(str(path), f"unrecognised traffic format; pass --format ({', '.join(FORMATS)})")


def _ndjson(stream: IO[bytes], path: str) -> Iterator[tuple[int, ExchangeRecord, bytes | None]]:
    for number, line in enumerate(stream, start=1):
        if not line or line.isspace():  # blank (strip() would copy every line to learn that)
            continue
        try:
            yield number - 1, loads_line(line), line
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise TrafficError(path, f"(line {number}) not a journal record: {exc}", number - 1) from None


def _opened(path: Path) -> IO[bytes]:
    try:
        return path.open("rb", buffering=1 << 16)  # a read per ~50 journal lines, not per 7
    except OSError as exc:
        raise TrafficError(str(path), f"cannot read it: {exc.strerror or exc}") from None


# Where each JSON format keeps its entries, and what it is called when it has none there.
_ARRAYS = {"har": (("log", "entries"), har.NOT_HAR), "wiremock": (("requests",), wiremock.NOT_WIREMOCK)}


def _json_entries(path: Path, fmt: str) -> Iterator[tuple[int, ExchangeRecord]]:
    """A HAR file's or a WireMock journal's exchanges, one entry in memory at a time (streaming.py)."""
    where, missing = _ARRAYS[fmt]
    with _opened(path) as stream:
        try:
            found = JsonEntries(stream).items(where)
            if fmt == "har":
                for index, item, _, _ in found:
                    yield index, _built(path, har.record, item, index)
                return
            order, offsets, sizes = _logged_order(path, found)
            for index in order:
                yield index, _built(path, wiremock.record, read_at(stream, offsets[index], sizes[index]), index)
        except NotFound:
            raise TrafficError(str(path), missing) from None
        except BadJSON as exc:
            raise TrafficError(str(path), str(exc), exc.entry) from None
        except OSError as exc:
            raise TrafficError(str(path), f"cannot read it: {exc.strerror or exc}") from None


def _built(path: Path, build: Callable[[Any, int], ExchangeRecord], item: Any, index: int) -> ExchangeRecord:
    try:
        return build(item, index)
    except Malformed as exc:
        raise TrafficError(str(path), str(exc), index) from None


def _logged_order(path: Path, found: Iterator[tuple[int, Any, int, int]]) -> tuple[list[int], array[int], array[int]]:
    """WireMock lists requests newest first; they are judged oldest first (the latest-logged first among
    equals, as before).  A first pass checks every entry (a malformed one is refused before any is
    judged) and keeps when each was logged and where it is in the file (24 bytes an entry)."""
    starts, offsets, sizes = array("d"), array("q"), array("q")
    for index, item, offset, size in found:
        starts.append(_built(path, wiremock.record, item, index).started)
        offsets.append(offset)
        sizes.append(size)
    # A stable sort of the indexes from last to first: equal times keep the later entry first.
    return sorted(range(len(starts) - 1, -1, -1), key=starts.__getitem__), offsets, sizes


def _vcr(path: Path) -> Iterator[tuple[int, ExchangeRecord]]:
    """A cassette's exchanges, one interaction in memory at a time (``vcr.interactions``)."""
    with _opened(path) as stream:
        try:
            for index, item in vcr.interactions(stream):
                yield index, _built(path, vcr.record, item, index)
        except Malformed as exc:
            raise TrafficError(str(path), str(exc), exc.entry) from None
        except vcr.BadYAML as exc:
            raise TrafficError(str(path), f"not valid YAML: {exc}", exc.entry) from None
        except OSError as exc:
            raise TrafficError(str(path), f"cannot read it: {exc.strerror or exc}") from None


def read(path: Path, fmt: str | None = None) -> Iterator[tuple[int, ExchangeRecord]]:
    """(entry index, record) for every exchange of ``path``; ``TrafficError`` on a malformed one."""
    for index, record, _ in entries(path, fmt):
        yield index, record


def entries(path: Path, fmt: str | None = None) -> Iterator[tuple[int, ExchangeRecord, bytes | None]]:
    """``read``'s entries, each with its journal line when the file is one (None for other formats): a
    judge that keeps a record as its line need not encode it again."""
    fmt = fmt or detect(path)
    if fmt == "ndjson":
        with _opened(path) as stream:
            yield from _ndjson(stream, str(path))
        return
    found = _vcr(path) if fmt == "vcr" else _json_entries(path, fmt)
    for index, record in found:
        yield index, record, None
