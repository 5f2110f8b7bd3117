"""What traffic cannot show about a request: whether the ids it carries name existing resources.

A schema-valid body may still name an asset or a group that does not exist (or is
another tenant's), and a correct server refuses it with 400.  ``verify`` sends the
fixture's ids, known to exist; recorded traffic carries whatever ids its client
sent, so such a refusal is no ``request.variants`` failure by itself.  It is one
when the same tenant had the same ids accepted elsewhere in the traffic (a 2xx to
a request carrying them): then they exist.

Memory: the ids seen accepted are kept per tenant, least recently used first out
(``MAX_ACCEPTED``); refusals not yet judged wait, at most ``MAX_WAITING``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..clauses.attribution import error_param
from ..targets.exchange import Exchange
from .tally import Tallies

MAX_ACCEPTED = 16_384
MAX_WAITING = 256
_INDEX = re.compile(r"\[\d+\]|/\d+(?=/|$)")
UNKNOWN = ("a schema-valid body naming {ids} was refused {status}: traffic cannot show whether an id names an "
           "existing resource (verify uses the fixture's), so it was not judged")


def is_id_field(name: str) -> bool:
    return name.endswith("_id")


def carried_ids(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, id) of every string member named ``*_id`` in a request body."""
    if isinstance(value, dict):
        for name, item in value.items():
            where = f"{path}.{name}" if path else str(name)
            if isinstance(item, str) and is_id_field(str(name)):
                yield where, item
            else:
                yield from carried_ids(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from carried_ids(item, f"{path}[{index}]")


def _named_field(exchange: Exchange) -> str | None:
    """The field an error's ``param`` names, as its last name (``file.asset_id``, ``/file/asset_id``,
    ``reference_images[0].asset_id`` all give ``asset_id``); None when it names none."""
    param = error_param(exchange)
    if param is None:
        return None
    parts = [p for p in re.split(r"[./]", _INDEX.sub("", param.strip())) if p]
    return parts[-1] if parts else None


@dataclass(slots=True)
class _Waiting:
    tenant: str
    ids: tuple[str, ...]
    exchange: Exchange
    where: str


class Existence:
    """Ids each tenant had accepted, and refusals that only such an id could make a finding."""

    def __init__(self, tallies: Tallies) -> None:
        self.tallies = tallies
        self.accepted: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.waiting: list[_Waiting] = []

    def accepted_create(self, tenant: str | None, body: Any) -> None:
        """A 2xx: the ids its request carried exist for that tenant.  (The group a 2xx names is not kept:
        every create names a new one, and holding them cost more memory than the rest of the judge.)"""
        if tenant is None:
            return
        for _, ident in carried_ids(body):
            self._accept(tenant, ident)

    def _accept(self, tenant: str, ident: str) -> None:
        key = (tenant, ident)
        self.accepted[key] = None
        self.accepted.move_to_end(key)
        if len(self.accepted) > MAX_ACCEPTED:
            self.accepted.popitem(last=False)

    def unknowable(self, tenant: str | None, body: Any, exchange: Exchange, where: str) -> bool:
        """A schema-valid body refused 400: True when the refusal may be about the existence of an id it
        carries (its error names an ``*_id`` field, or names no field), so request.variants leaves it
        (it is judged again when the results are asked for, in case the ids are accepted later)."""
        if exchange.status != 400 or tenant is None:
            return False
        ids = list(carried_ids(body))
        named = _named_field(exchange)
        if named is not None:
            ids = [(p, i) for p, i in ids if p.rsplit(".", 1)[-1].split("[")[0] == named]
            if not is_id_field(named) or not ids:
                return False  # the error names another field: the target's verdict on the body
        if not ids:
            return False
        waiting = _Waiting(tenant, tuple(i for _, i in ids), exchange, where)
        if not self._judge(waiting) and len(self.waiting) < MAX_WAITING:
            self.waiting.append(waiting)
        return True

    def _judge(self, waiting: _Waiting) -> bool:
        """Fail request.variants when every id in question was accepted for the tenant; else a note."""
        if all((waiting.tenant, i) in self.accepted for i in waiting.ids):
            self.tallies["request.variants"].fail(
                f"a valid body naming {', '.join(waiting.ids)}, which this tenant had accepted elsewhere in the "
                f"traffic, was refused: {waiting.exchange.summary(120)} ({waiting.where})", waiting.exchange,
                kind=f"refused {waiting.exchange.status}")
            return True
        return False

    def settle(self) -> None:
        """Judge the refusals that waited (the results are being asked for); the rest get a note."""
        self.waiting = [w for w in self.waiting if not self._judge(w)]
        if self.waiting:
            first = self.waiting[0]
            self.tallies["request.variants"].note(
                UNKNOWN.format(ids=", ".join(first.ids), status=first.exchange.status) + f" ({first.where})")
