"""No encoded form of a key survives redaction (issue 16 §5): the scrubber against
an independent list of echoes, and a whole verify run against a server echoing both keys."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st

from avatar_contract.contract_tests.reports.redact import Scrubber
from avatar_contract.validators._cli import main

from ._echoes import echoes, leaks
from ._support import emulator, free_port

KEY_A = "sk_live_Q7pZr2mX9vT4bN8c"
KEY_B = "sk_test_W3eRt6yU1iO0pA5s"
# Key material: each half holds a digit or a capital, as random keys do (see redact:
# a piece of lowercase words is left, the documented limit of the split-key heuristic).
key_text = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789_-", min_size=24,
                   max_size=48).filter(lambda k: all(h.strip("abcdefghijklmnopqrstuvwxyz-_") for h in
                                                     (k[:len(k) // 2], k[len(k) // 2:])))


@given(key=key_text, seed=st.integers(0, 2**16))
def test_every_echo_of_a_key_is_scrubbed_from_content_and_text(key: str, seed: int) -> None:
    scrub = Scrubber([key])
    for name, echo in echoes(key, seed).items():
        body = json.dumps({"error": {"message": "bad key", "echo": "x"}}).replace('"x"', f'"{echo}"')
        for out in (scrub.content(body), scrub.data(body.encode()).decode(), scrub.text(f"said: {body}")):
            assert not leaks(key, out), (name, out)


def test_our_own_words_survive_the_embedded_keys() -> None:
    scrub = Scrubber(["avatar-contract-suite-key-1", "avatar-contract-suite-key-2"])
    ours = "avatar-contract emulator --api-key K; see contract_tests and suite-key docs"
    assert scrub.text(ours) == ours and scrub.content(ours) == ours and scrub.long_forms(ours) == ours


def _echoing(app: Any) -> Any:
    """The emulator, with both keys echoed in every form in a header and in every error body."""
    every = {f"{who} {name}": form for who, key in (("a", KEY_A), ("b", KEY_B)) for name, form in echoes(key).items()}

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body = message.get("body", b"")
            if start["status"] >= 400 and body.startswith(b"{"):
                data = json.loads(body)
                data.setdefault("error", {})["echo"] = every
                data["error"]["message"] = f"{data['error'].get('message')} (key {KEY_A}, {KEY_B[::-1]})"
                body = json.dumps(data).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers += [(b"content-length", str(len(body)).encode()),
                        (b"x-echo", every["a percent some"].encode() + b" " + every["b base64 +1"].encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, capture)

    return wrapped


@pytest.fixture
def echo_server() -> Iterator[str]:
    port = free_port()
    # A fault so that clauses fail and keep the echoing answers as evidence.
    app = _echoing(emulator(api_keys=(KEY_A, KEY_B), faults=frozenset({"error_envelope_missing", "wrong_key_accepted"})))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.02)
        assert thread.is_alive(), "the echo server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.mark.http
def test_no_encoded_key_reaches_any_file_or_stream(echo_server: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--base-url", echo_server, "--api-key", KEY_A, "--second-api-key", KEY_B,
                 "--profile", "quick", "--seed", "3", "--report-dir", str(tmp_path / "reports"),
                 "--clause", "auth.missing", "--clause", "auth.invalid", "--clause", "errors.envelope",
                 "--clause", "request.rejects_invalid"])
    out, err = capsys.readouterr()
    assert code == 1, out + err  # the faults failed their clauses: the echoes are evidence
    files = [p for p in (tmp_path / "reports").rglob("*") if p.is_file() and not p.is_symlink()]
    assert {p.name for p in files} >= {"report.json", "report.md", "report.html", "junit.xml"}
    assert any(p.suffix == ".sh" for p in files)
    texts = {str(p): p.read_text(encoding="utf-8") for p in files} | {"stdout": out, "stderr": err}
    assert "***" in texts[str(next(p for p in files if p.name == "report.html"))]
    found = {where: leaks(key, text) for where, text in texts.items() for key in (KEY_A, KEY_B)
             if leaks(key, text)}
    assert not found, found
    # Owner-only: the reports hold the target's answers.
    for path in files:
        wanted = 0o700 if path.suffix == ".sh" else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path
    run_dir = next(p for p in (tmp_path / "reports").iterdir() if p.is_dir() and not p.is_symlink())
    for directory in (run_dir, run_dir / "repro"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    # The spec is named relative to the working directory, never by an absolute path.
    spec = json.loads((run_dir / "report.json").read_text())["run"]
    assert not any(os.path.isabs(str(v)) for k, v in spec.items() if "spec" in k), spec


def test_a_spec_path_is_relative_to_the_working_directory_or_its_file_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from avatar_contract.contract_tests.reports.run_info import shown_path

    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "mine.yaml"
    monkeypatch.chdir(tmp_path)
    assert shown_path(str(spec)) == os.path.join("specs", "mine.yaml")
    monkeypatch.chdir(tmp_path / "specs")
    assert shown_path(str(tmp_path / "elsewhere" / "theirs.yaml")) == "theirs.yaml"
