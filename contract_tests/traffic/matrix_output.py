"""The matrix's files: matrix.json (byte-stable for a seed), matrix.md and matrix.html, from one ``as_json``."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

MARK = {"pass": "pass", "fail": "FAIL", "incomplete": "incomplete", "error": "error", "skipped": "skipped",
        "not observed": "not observed", "not run": "not run"}
COLOUR = {"pass": "#cfc", "fail": "#fbb", "incomplete": "#ffd", "error": "#fdb"}


def to_json_text(matrix: dict[str, Any]) -> str:
    return json.dumps(matrix, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _links(cell: dict[str, Any]) -> list[tuple[str, str]]:
    out = [("report", cell["report"])] if cell.get("report") else []
    return out + [(f"repro {n}", path) for n, path in enumerate(cell.get("reproducers", []), start=1)]


def to_markdown(matrix: dict[str, Any]) -> str:
    names = [i["name"] for i in matrix["implementations"]]
    lines = ["# Conformance matrix", "", f"seed {matrix['seed']} · profile {matrix['profile']} · score = "
             f"{matrix['score']}", "", "| clause | " + " | ".join(f"`{n}`" for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for row in matrix["clauses"]:
        cells = []
        for name in names:
            cell = row["cells"][name]
            links = " ".join(f"[{label}]({path})" for label, path in _links(cell))
            cells.append(f"{MARK.get(cell['verdict'], cell['verdict'])} {links}".strip())
        lines.append(f"| `{row['clause']}` | " + " | ".join(cells) + " |")
    lines.append("| **score** | " + " | ".join(f"**{i['score']:g}** ({i['passed']}/{i['clauses']})"
                                               for i in matrix["implementations"]) + " |")
    problems = [f"- `{i['name']}`: {i['problem']}" for i in matrix["implementations"] if i["problem"]]
    return "\n".join(lines + (["", *problems] if problems else [])) + "\n"


def to_html(matrix: dict[str, Any]) -> str:
    names = [i["name"] for i in matrix["implementations"]]
    esc = html.escape
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    rows = []
    for row in matrix["clauses"]:
        cells = []
        for name in names:
            cell = row["cells"][name]
            links = " ".join(f'<a href="{esc(path)}">{esc(label)}</a>' for label, path in _links(cell))
            title = esc("; ".join(cell.get("kinds", [])) or cell.get("reason", ""))
            cells.append(f'<td style="background:{COLOUR.get(cell["verdict"], "#eee")}" title="{title}">'
                         f'{esc(MARK.get(cell["verdict"], cell["verdict"]))} {links}</td>')
        rows.append(f"<tr><th><code>{esc(row['clause'])}</code></th>{''.join(cells)}</tr>")
    scores = "".join(f"<td><b>{i['score']:g}</b> ({i['passed']}/{i['clauses']})</td>"
                     for i in matrix["implementations"])
    return ("<!doctype html><meta charset=utf-8><title>Conformance matrix</title>"
            "<style>body{font-family:sans-serif}td,th{border:1px solid #999;padding:4px 8px}"
            "table{border-collapse:collapse}</style>"
            f"<h1>Conformance matrix</h1><p>seed {matrix['seed']} · profile {esc(matrix['profile'])} · "
            f"score = {esc(matrix['score'])}</p>"
            f"<table><tr><th>clause</th>{head}</tr>{''.join(rows)}<tr><th>score</th>{scores}</tr></table>\n")


def write_matrix(matrix: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("matrix.json", to_json_text(matrix)), ("matrix.md", to_markdown(matrix)),
                       ("matrix.html", to_html(matrix))):
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    return written
