"""Which format a traffic file is in (by content), and its exchanges one at a time.

Detection reads the start of the file: a first line that is a whole journal
record is our NDJSON journal (streamed, so memory does not grow with the
file); otherwise the document is parsed whole and recognised by its keys
(``log.entries``: HAR; ``requests``: WireMock; ``http_interactions``: a VCR
cassette, YAML).  ``--format`` skips the guess.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import msgspec
import yaml

from avatar_contract.validators.journal import ExchangeRecord, loads_line

from . import har, vcr, wiremock
from .records import Malformed

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


def _ndjson(stream: IO[bytes], path: str) -> Iterator[tuple[int, ExchangeRecord]]:
    for number, line in enumerate(stream, start=1):
        if not line or line.isspace():  # blank (strip() would copy every line to learn that)
            continue
        try:
            yield number - 1, loads_line(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise TrafficError(path, f"(line {number}) not a journal record: {exc}", number - 1) from None


def _document(path: Path, fmt: str) -> Any:
    try:
        data = path.read_bytes()
        if fmt == "vcr":
            return yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return msgspec.json.decode(data)
    except OSError as exc:
        raise TrafficError(str(path), f"cannot read it: {exc.strerror or exc}") from None
    except (yaml.YAMLError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrafficError(str(path), f"not valid {'YAML' if fmt == 'vcr' else 'JSON'}: {first}") from None


_READERS = {"har": har.records, "vcr": vcr.records, "wiremock": wiremock.records}


def read(path: Path, fmt: str | None = None) -> Iterator[tuple[int, ExchangeRecord]]:
    """(entry index, record) for every exchange of ``path``; ``TrafficError`` on a malformed one."""
    fmt = fmt or detect(path)
    if fmt == "ndjson":
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise TrafficError(str(path), f"cannot read it: {exc.strerror or exc}") from None
        with stream:
            yield from _ndjson(stream, str(path))
        return
    document = _document(path, fmt)
    try:
        yield from _READERS[fmt](document)
    except Malformed as exc:
        raise TrafficError(str(path), str(exc), exc.entry) from None
