"""The June 2026 spec (avatar_id on prompt): the suite follows it, and the emulator conforms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from avatar_contract.contract_tests.probes.bodies import BodyFactory
from avatar_contract.contract_tests.targets.suite_spec import spec_path, use_spec
from avatar_contract.validators import contract_for
from avatar_contract.validators._cli import main


@pytest.fixture()
def restore_spec() -> Iterator[None]:
    before = spec_path()
    yield
    use_spec(before)


def test_verify_against_the_emulator_passes_under_the_june_spec(
    june_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_spec: None
) -> None:
    code = main(["verify", "--spec", str(june_spec), "--profile", "quick", "--seed", "11", "--no-mutation",
                 "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads((tmp_path / "latest" / "report.json").read_text(encoding="utf-8"))
    assert report["conforms"] is True and report["outcome"] == "conforms"
    verdicts = {c["clause"]: c["verdict"] for c in report["clauses"]}
    assert len(verdicts) == 15
    assert verdicts["request.variants"] == "pass" and verdicts["response.schema"] == "pass", verdicts


def test_references_need_a_group_only_while_the_spec_says_so(june_spec: Path) -> None:
    vendored, june = BodyFactory(contract_for(None)), BodyFactory(contract_for(str(june_spec)))
    site = next(s for s in vendored.sites("prompt") if s.many)
    assert vendored.needs_group("prompt", site)
    assert not june.needs_group("prompt", next(s for s in june.sites("prompt") if s.many))
    # Under the June spec, references alone are a clean body (nothing the linter warns about).
    body = june.body("prompt", sources={site.field: ["url", "asset_id"]})
    assert body.get("avatar_group_id") is None
    june.check_valid(body, warnings=False)
    vendored_body = vendored.body("prompt", sources={site.field: ["url"]})
    with pytest.raises(AssertionError, match=r"reference_images\.without_group"):
        vendored.check_valid(vendored_body, warnings=False)

