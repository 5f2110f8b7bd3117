"""``avatar-contract emulator --journal FILE``: a served emulator records its traffic in the journal format."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from avatar_contract.validators._cli import main
from avatar_contract.validators.journal import read_journal, tenant_hash

from ..emulator._served import served

pytestmark = pytest.mark.http  # the emulator under uvicorn, in a child process

BODY = {"type": "photo", "name": "A", "file": {"type": "url", "url": "https://example.com/a.png"}}


def test_the_served_emulator_journals_every_exchange_without_the_key(tmp_path: Path) -> None:
    journal = tmp_path / "traffic.ndjson"
    with served("--journal", str(journal), "--api-key", "secret-key-1") as server, \
            httpx.Client(base_url=server.base) as client:
        headers = {"x-api-key": "secret-key-1", "Idempotency-Key": "k-1"}
        answers = [client.post("/v3/avatars", json=BODY, headers=headers).status_code for _ in range(2)]
        answers.append(client.post("/v3/avatars", json=BODY).status_code)  # no credential
    assert answers == [200, 200, 401]
    text = journal.read_text(encoding="utf-8")
    assert "secret-key-1" not in text
    with journal.open("rb") as stream:
        creates = [r for r in read_journal(stream) if r.request.path == "/v3/avatars"]
    assert [r.response.status if r.response else None for r in creates] == [200, 200, 401]
    assert [r.tenant for r in creates] == [tenant_hash("secret-key-1")] * 2 + [None]
    assert creates[0].created and creates[1].created is None  # the second was a replay
    assert creates[0].connection is not None and creates[0].ended is not None


def test_a_journal_that_cannot_be_written_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["emulator", "--journal", str(tmp_path / "no-such-dir" / "j.ndjson"), "--port", "0"])
    assert code == 2
    assert "cannot write the journal" in capsys.readouterr().err
