"""The CLI never prints a traceback, whatever the output encoding or the file names (issue 9, §2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NON_ASCII = {"type": "vidéo", "name": "Zoë", "file": {"type": "url"}}  # the finding quotes 'vidéo'


def lint(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    environ = {**os.environ, **env}
    return subprocess.run([sys.executable, "-m", "avatar_contract", "lint", *args], cwd=cwd,
                          capture_output=True, env=environ, timeout=120)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_ascii_output_encoding_escapes_instead_of_crashing(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "é.json").write_text(json.dumps(NON_ASCII, ensure_ascii=False), encoding="utf-8")
    done = lint(["--format", fmt, "é.json"], tmp_path, PYTHONIOENCODING="ascii")
    assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    assert done.returncode == 1  # a finding, not a crash (which exits 1 too, hence the check above)
    done.stdout.decode("ascii")
    if fmt == "text":
        assert b"vid\\xe9o" in done.stdout
    else:
        document = json.loads(done.stdout)
        assert "vidéo" in json.dumps(document, ensure_ascii=False)  # escaped, not lost


@pytest.mark.skipif(sys.platform == "darwin", reason="APFS refuses non-UTF-8 file names")
@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_undecodable_file_names_keep_json_output_valid_utf8(tmp_path: Path, fmt: str) -> None:
    name = b"bad\xff\xfe.json"
    with open(os.path.join(os.fsencode(tmp_path), name), "wb") as handle:
        handle.write(json.dumps(NON_ASCII).encode())
    done = subprocess.run([sys.executable, "-m", "avatar_contract", "lint", "--format", fmt, name],
                          cwd=tmp_path, capture_output=True, timeout=120)
    assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    assert done.returncode == 1
    document = json.loads(done.stdout.decode("utf-8"))  # strict UTF-8: no raw 0xff, no surrogates
    text = json.dumps(document)
    assert "bad\\\\xff\\\\xfe.json" in text  # the undecodable bytes are named, as \xNN escapes


def test_lone_surrogates_in_findings_stay_valid_json(tmp_path: Path) -> None:
    # A lone-surrogate escape is legal JSON; whatever the finding quotes from it
    # must come out as a \\u escape, never as an unencodable character.
    (tmp_path / "s.json").write_bytes(b'{"type": "\\udcff", "name": "A", "file": {"type": "url", "url": "u"}}')
    done = lint(["--format", "json", "s.json"], tmp_path)
    assert b"Traceback" not in done.stderr
    document = json.loads(done.stdout.decode("utf-8"))
    assert document["results"][0]["findings"]

