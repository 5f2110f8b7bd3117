"""``spec diff`` output: text for people, JSON for tools, Markdown for a pull request or a wiki."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from ._spec_corpus import CorpusDiff, PayloadChange
from ._spec_diff import Change

SECTIONS = {
    "variants": "Variants",
    "sources": "Asset sources",
    "fields": "Fields",
    "required": "Required-ness",
    "constraints": "Constraints",
    "responses": "Documented statuses and error codes",
    "idempotency_key": "Idempotency-Key",
    "advice_rules": "Advice rules",
}
_MARK = {"added": "+", "activated": "+", "removed": "-", "deactivated": "-", "changed": "~"}


def _grouped(changes: Sequence[Change]) -> Iterator[tuple[str, list[Change]]]:
    for section, title in SECTIONS.items():
        rows = [c for c in changes if c.section == section]
        if rows:
            yield title, rows


def _finding(f: tuple[str, str, str]) -> str:
    severity, path, rule = f
    return f"{severity} {path or '(root)'} {rule}"


def _payload_lines(change: PayloadChange) -> Iterator[str]:
    verdict = {True: "valid", False: "invalid"}
    if change.old.valid != change.new.valid:
        yield f"{verdict[change.old.valid]} -> {verdict[change.new.valid]}"
    yield from (f"- {_finding(f)}" for f in change.gone)
    yield from (f"+ {_finding(f)}" for f in change.came)


def render_text(old: str, new: str, changes: Sequence[Change], corpus: CorpusDiff | None,
                stream: TextIO) -> None:
    stream.write(f"spec diff {old} -> {new}\n")
    if not changes:
        stream.write("no contract changes\n")
    for title, rows in _grouped(changes):
        stream.write(f"{title}:\n")
        for c in rows:
            stream.write(f"  {_MARK.get(c.kind, '~')} {c.where}: {c.detail}\n")
            if c.detail == "description changed":
                stream.write(f"      was: {c.old}\n      now: {c.new}\n")
    if corpus is not None:
        stream.write(f"Corpus {corpus.path}: {len(corpus.changed)} of {corpus.payloads} payload(s) "
                     "lint differently\n")
        for change in corpus.changed:
            stream.write(f"  {change.source}\n")
            for line in _payload_lines(change):
                stream.write(f"      {line}\n")
    stream.write(f"{len(changes)} contract change(s)\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(old: str, new: str, changes: Sequence[Change], corpus: CorpusDiff | None,
                    stream: TextIO) -> None:
    stream.write(f"# Contract changes: `{old}` → `{new}`\n\n")
    if not changes:
        stream.write("No contract changes.\n")
    for title, rows in _grouped(changes):
        stream.write(f"## {title}\n\n| | where | change |\n|---|---|---|\n")
        for c in rows:
            detail = c.detail
            if detail == "description changed":
                detail = f"description changed: ~~{c.old}~~ → {c.new}"
            stream.write(f"| {_MARK.get(c.kind, '~')} | `{_cell(c.where)}` | {_cell(detail)} |\n")
        stream.write("\n")
    if corpus is not None:
        stream.write(f"## Corpus\n\n{len(corpus.changed)} of {corpus.payloads} payload(s) in "
                     f"`{corpus.path}` lint differently.\n\n")
        if corpus.changed:
            stream.write("| payload | what changes |\n|---|---|\n")
            for change in corpus.changed:
                lines = "<br>".join(_cell(line) for line in _payload_lines(change))
                stream.write(f"| `{_cell(change.source)}` | {lines} |\n")
            stream.write("\n")


def to_json(old: str, new: str, changes: Sequence[Change], corpus: CorpusDiff | None) -> dict[str, Any]:
    return {
        "old": old,
        "new": new,
        "changed": bool(changes) or bool(corpus and corpus.changed),
        "changes": [c.to_dict() for c in changes],
        "corpus": corpus.to_dict() if corpus is not None else None,
    }


def render(fmt: str, old: str, new: str, changes: Sequence[Change], corpus: CorpusDiff | None,
           stream: TextIO) -> None:
    if fmt == "json":
        json.dump(to_json(old, new, changes, corpus), stream, indent=2, ensure_ascii=False)
        stream.write("\n")
    elif fmt == "markdown":
        render_markdown(old, new, changes, corpus, stream)
    else:
        render_text(old, new, changes, corpus, stream)
