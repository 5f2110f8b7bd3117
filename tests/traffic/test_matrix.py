"""``avatar-contract matrix``: the emulator under two fault modes, side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avatar_contract.contract_tests.traffic.matrix import Column, MatrixError, MatrixTarget, as_json, load_plan
from avatar_contract.validators._cli import main

TARGETS = """\
seed = 7
profile = "quick"
clauses = ["auth.missing", "response.schema", "response.status", "idempotency.replay"]

[[target]]
name = "wrong-type"
emulator = true
faults = ["response_wrong_type"]

[[target]]
name = "replays-ignored"
emulator = true
faults = ["idempotency_ignored"]
"""


def test_scores_keep_every_cell_in_the_denominator(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text(TARGETS)
    plan = load_plan(tmp_path / "t.toml")
    answered = Column(MatrixTarget("a"), 3, {c: {"verdict": "pass"} for c in plan.clauses})
    answered.cells["idempotency.replay"] = {"verdict": "incomplete"}
    silent = Column(MatrixTarget("b"), 3, {c: {"verdict": "not run"} for c in plan.clauses})
    silent.cells["auth.missing"] = {"verdict": "pass"}
    scores = {i["name"]: i["score"] for i in as_json(plan, [answered, silent])["implementations"]}
    assert scores == {"a": 75.0, "b": 25.0}  # incomplete and not-run cells count as not passed


@pytest.mark.parametrize(("text", "said"), [
    ("[[target]]\nname = 'x'\n", "give exactly one of base_url and emulator = true"),
    ("[[target]]\nname = 'x'\nbase_url = 'http://h'\nfaults = ['auth_skipped']\n", "faults apply to the in-process"),
    ("[[target]]\nname = 'x'\nemulator = true\ncolour = 1\n", "unknown key(s) colour"),
    ("clauses = ['nope']\n[[target]]\nname = 'x'\nemulator = true\n", "unknown clause(s) nope"),
])
def test_an_unusable_targets_file_is_one_line(tmp_path: Path, text: str, said: str) -> None:
    (tmp_path / "t.toml").write_text(text)
    with pytest.raises(MatrixError, match=r".*") as caught:
        load_plan(tmp_path / "t.toml")
    assert said in str(caught.value)


@pytest.mark.slow
def test_the_emulator_against_two_fault_modes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.toml").write_text(TARGETS)
    assert main(["matrix", str(tmp_path / "t.toml"), "--out", str(tmp_path / "m")]) == 1
    first = (tmp_path / "m" / "matrix.json").read_bytes()
    matrix = json.loads(first)
    cells = {row["clause"]: {n: c["verdict"] for n, c in row["cells"].items()} for row in matrix["clauses"]}
    assert cells["response.schema"] == {"wrong-type": "fail", "replays-ignored": "pass"}
    assert cells["idempotency.replay"] == {"wrong-type": "pass", "replays-ignored": "fail"}
    failing = next(r for r in matrix["clauses"] if r["clause"] == "response.schema")["cells"]["wrong-type"]
    assert (tmp_path / "m" / failing["reproducers"][0]).is_file()  # each cell links to its evidence
    assert (tmp_path / "m" / failing["report"]).is_file()
    assert [i["score"] for i in matrix["implementations"]] == [75.0, 75.0]
    assert "wrong-type" in (tmp_path / "m" / "matrix.html").read_text()
    assert main(["matrix", str(tmp_path / "t.toml"), "--out", str(tmp_path / "m")]) == 1
    assert (tmp_path / "m" / "matrix.json").read_bytes() == first  # the same seed, the same bytes
