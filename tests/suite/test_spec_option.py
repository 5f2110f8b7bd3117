"""``--spec``: the suite holds a target to whichever spec it is given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import run_clause
from avatar_contract.contract_tests.targets.suite_spec import spec_path, use_spec
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.spec import SpecError, vendored_spec_path
from avatar_contract.validators._cli import main

from ._support import KEY_1, REMOTE, emulator


@pytest.fixture()
def five_images(tmp_path: Path) -> Iterator[Path]:
    """A newer spec: reference_images may hold five items instead of three."""
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    prompt = doc["components"]["schemas"]["CreatePromptAvatarRequest"]
    prompt["properties"]["reference_images"]["anyOf"][0]["maxItems"] = 5
    path = tmp_path / "five.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    before = spec_path()
    yield path
    use_spec(before)


def _remote(app: Any) -> Target:
    return Target(base_url=REMOTE, api_key=KEY_1, asgi_app=app, allow_create=True,
                  max_creates=1000, profile="quick", seed=3)


def test_a_server_built_on_the_same_newer_spec_conforms(five_images: Path) -> None:
    use_spec(five_images)
    result = run_clause("request.rejects_invalid", _remote(emulator(spec=str(five_images))))
    assert result.verdict is Verdict.PASS, [f.message for f in result.failures[:3]]


def test_a_server_still_on_the_old_limit_fails_the_newer_spec(five_images: Path) -> None:
    use_spec(five_images)
    result = run_clause("request.rejects_invalid", _remote(emulator()))
    assert result.verdict is Verdict.FAIL
    # The boundary case is the newer limit: exactly five images must be accepted.  The pool tells the
    # count from the items: one item alone is accepted, five copies of it are refused.
    assert any("exactly 5 reference_images" in f.message and "refused with 5 copies of an item accepted alone: 400"
               in f.message for f in result.failures), \
        [f.message for f in result.failures[:3]]


def test_and_the_old_server_passes_the_old_spec(five_images: Path) -> None:
    use_spec(None)
    assert run_clause("request.rejects_invalid", _remote(emulator())).verdict is Verdict.PASS


def test_verify_spec_flag(five_images: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["verify", "--spec", str(five_images), "--profile", "quick", "--seed", "3",
                 "--clause", "request.rejects_invalid", "--report-dir", str(tmp_path / "r")])
    assert code == 0, capsys.readouterr().out
    assert main(["verify", "--spec", str(tmp_path / "absent.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_an_unusable_spec_is_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(SpecError):
        use_spec(tmp_path / "absent.yaml")
