"""Verdicts on a refused create that packed several facts, once the pool could not split it all.

The pool re-tries each packed fact alone where it can (:meth:`pool._Pool.exonerate`);
what is left is judged here.  Two heuristics, documented as such, say which fact a
refusal belongs to when no retry could: a source refused on its own elsewhere at the
same kind of place, and the target's own error pointing at one fact (its ``param``;
the spec does not fix that format, so it only ever moves blame within one pack, never
onto a clause the pack's refusal would not fail anyway).
"""

from __future__ import annotations

import re

from ..targets.exchange import Exchange
from .planner import source_place
from .pool_result import FAILED, UNRUN, FactOutcome

BODY_FACTS = ("variant", "source", "group", "limit", "value")  # the kinds of fact a body carries (not its headers)


def unblame(outcomes: list[FactOutcome], refused: set[str], why: str) -> None:
    """The cap ran out mid-way.  A refused packed create is explained once one of its facts
    was refused on its own, or carries an asset source refused on its own at the same kind of
    place elsewhere: those stay failed, the others not yet re-tried are unrun, not blamed.
    With no culprit in sight, the packed refusal stands (some fact is guilty)."""
    suspects = [o for o in outcomes if o.retried or (o.state == FAILED and source_place(o.fact.key) in refused)]
    if not suspects:
        return
    for outcome in outcomes:
        if outcome.state == FAILED and outcome not in suspects:
            outcome.state = UNRUN
            outcome.detail = (f"refused packed with \"{suspects[0].fact.text}\", which is refused on its own; "
                              f"not re-tried alone: {why}")


def mark_packed(outcomes: dict[str, FactOutcome]) -> None:
    """Failed facts that still share one refused answer: the suspects (see the module's
    heuristics) stay failed and say so; the others are unrun, not blamed.  With no suspect,
    every one stays failed and says it was not isolated."""
    packs: dict[int, list[FactOutcome]] = {}
    for outcome in outcomes.values():
        if outcome.state == FAILED and not outcome.retried and outcome.exchange is not None \
                and outcome.fact.key.split(":", 1)[0] in BODY_FACTS:
            packs.setdefault(id(outcome.exchange), []).append(outcome)
    refused = {p for o in outcomes.values() if o.retried and (p := source_place(o.fact.key))}
    for pack in packs.values():
        if len(pack) < 2:
            continue
        exchange = pack[0].exchange
        assert exchange is not None
        named = _named_by_the_error(pack, exchange)
        suspects = [o for o in pack if source_place(o.fact.key) in refused] or named
        why = "whose source is refused on its own elsewhere" if suspects is not named else \
            "which the target's error names"
        for outcome in pack:
            if suspects and outcome not in suspects:
                outcome.state = UNRUN
                outcome.detail = f"refused packed with \"{suspects[0].fact.text}\", {why}; not re-tried alone"
            else:
                outcome.detail += (f" (one create packed it with {len(pack) - 1} other fact(s); it could not be "
                                   "re-tried alone" + ("; the target's error names it)" if outcome in named else ")"))


def _named_by_the_error(pack: list[FactOutcome], exchange: Exchange) -> list[FactOutcome]:
    """The packed source facts the refusal's error ``param`` points at ("/reference_images/2/url",
    "reference_images[2].url", "file"): a heuristic, since the spec fixes no format."""
    error = exchange.json.get("error") if isinstance(exchange.json, dict) else None
    param = error.get("param") if isinstance(error, dict) else None
    if not isinstance(param, str):
        return []
    tokens = [t for t in re.split(r"[/\[\].]+", param) if t]
    out = []
    for outcome in pack:
        parts = outcome.fact.key.split(":")
        if parts[0] != "source" or len(parts) != 4:
            continue
        field_, _, index = parts[2].partition("[")
        if field_ not in tokens:
            continue
        at = tokens.index(field_)
        if not index or (at + 1 < len(tokens) and tokens[at + 1] == index.rstrip("]")):
            out.append(outcome)
    return out
