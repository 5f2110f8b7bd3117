"""schemathesis VCR cassettes (YAML, as schemathesis 4.x's ``--report vcr`` writes them).

``http_interactions``: each has ``recorded_at`` (ISO 8601, taken once the
response was in), ``request`` (``uri``, ``method``, ``headers`` as name → list
of values, ``body`` with ``string`` or ``base64_string``) and ``response``
(``status.code`` as a string, ``elapsed`` seconds, ``headers``, ``body``) or
``null`` when the request got no answer.  The exchange ends at ``recorded_at``
and starts ``elapsed`` before it.  A cassette recorded with sanitization on has
``[Filtered]`` for credentials: no tenant can be named from those.

``interactions`` reads a cassette one interaction at a time (YAML events, each
interaction composed and constructed alone, as ``yaml.safe_load`` would), so
memory is bounded by the largest interaction, not by the cassette.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import MappingEndEvent, MappingStartEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from avatar_contract.validators.journal import ExchangeRecord

from .records import Malformed, body_bytes, build, header_map, parts

NOT_VCR = "no http_interactions list: not a VCR cassette"
_FIELD = "http_interactions"


class BadYAML(ValueError):
    """Not valid YAML: the message, and the interaction it was found in (None: outside them)."""

    def __init__(self, message: str, entry: int | None) -> None:
        super().__init__(message)
        self.entry = entry


try:
    from yaml._yaml import CParser as _Parser
except ImportError:  # PyYAML without libyaml: the pure-Python parser, slower, the same events
    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: IO[bytes]) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


class _Loader(_Parser, Composer, SafeConstructor, Resolver):
    """libyaml's parser with PyYAML's composer and safe constructor, so one node at a time is built."""

    def __init__(self, stream: IO[bytes]) -> None:
        _Parser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def value(self, index: int = 0) -> Any:
        """The next node, constructed (its aliases may name anchors met earlier in the document); ``index``
        is its place in its sequence, for path resolvers (none are registered)."""
        return self.construct_document(Composer.compose_node(self, None, index))


def interactions(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    """(index, interaction) of a cassette; ``Malformed`` when it has no interactions list, ``BadYAML``
    when it is not YAML (naming the interaction it is in)."""
    loader = _Loader(stream)
    entry: int | None = None
    try:
        loader.get_event()  # the stream's start
        if loader.check_event(StreamEndEvent):
            raise Malformed(NOT_VCR)  # nothing at all
        loader.get_event()  # the document's start
        if not loader.check_event(MappingStartEvent):
            loader.value()
            raise Malformed(NOT_VCR)
        loader.get_event()
        found = False
        while not loader.check_event(MappingEndEvent):
            key = loader.value()
            if key != _FIELD or found:
                loader.value()
                continue
            found = True
            if not loader.check_event(SequenceStartEvent):
                if loader.value() is not None:  # null: a cassette of a run that sent nothing
                    raise Malformed(NOT_VCR)
                continue
            loader.get_event()
            entry = 0
            while not loader.check_event(SequenceEndEvent):
                yield entry, loader.value(entry)
                entry += 1
            entry = None
            loader.get_event()
        loader.get_event()
        loader.get_event()  # the document's end
        if not loader.check_event(StreamEndEvent):
            raise BadYAML("expected a single document in the stream", None)
        if not found:
            raise Malformed(NOT_VCR)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadYAML(first, entry) from None
    finally:
        loader.dispose()


def record(item: Any, index: int) -> ExchangeRecord:
    request, answer, method, uri = parts(item, "uri")
    response = item.get("response")
    try:
        ended = datetime.fromisoformat(str(item.get("recorded_at")).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise Malformed(f"recorded_at {item.get('recorded_at')!r} is not an ISO 8601 date") from None
    status = None
    elapsed = 0.0
    if isinstance(response, dict):
        code = response.get("status", {}).get("code") if isinstance(response.get("status"), dict) else None
        try:
            status = int(str(code))
            elapsed = max(0.0, float(response.get("elapsed") or 0.0))
        except ValueError:
            raise Malformed(f"response.status.code {code!r} is not a number") from None
    elif response is not None:
        raise Malformed("response is neither a mapping nor null")
    answered = status is not None
    return build(
        index=index, source="vcr", method=method, url=uri,
        headers=header_map(request.get("headers"), "request.headers"),
        body=body_bytes(request.get("body"), "base64_string", "string", "request.body"),
        started=ended - elapsed, ended=ended, status=status,
        response_headers=header_map(answer.get("headers"), "response.headers") if answered else (),
        response_body=body_bytes(answer.get("body"), "base64_string", "string", "response.body") if answered else b"")
