"""The disk cache of loaded specs: same result as a fresh load, never stale, never an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avatar_contract.spec import _cache, load_spec, vendored_spec_path
from avatar_contract.spec._loader import _load_cached

# A fresh interpreter loads the spec and reports what it got and whether PyYAML was imported.
_PROBE = """
import json, sys
from avatar_contract.spec import load_spec
spec = load_spec(sys.argv[1])
print(json.dumps({"document": spec.document, "raw": spec.raw, "path": spec.path, "method": spec.method,
                  "defects": [[d.rule, d.pointer, d.message, d.severity, d.normalised] for d in spec.defects],
                  "yaml": "yaml" in sys.modules}, default=str))
"""


def _load_in_process(spec: Path, cache: Path, **env: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE, str(spec)], capture_output=True, text=True, check=True,
                          env={**os.environ, "AVATAR_CONTRACT_CACHE_DIR": str(cache), **env})
    return json.loads(done.stdout)


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_bytes(vendored_spec_path().read_bytes())
    return path


def test_second_load_comes_from_the_cache_and_equals_the_first(spec_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _load_in_process(spec_copy, cache)
    assert first["yaml"] is True and len(list(cache.glob("spec-*.json"))) == 1
    second = _load_in_process(spec_copy, cache)
    assert second.pop("yaml") is False  # PyYAML never imported: the point of the cache
    first.pop("yaml")
    assert second == first


def test_an_edited_spec_is_never_served_stale(spec_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _load_in_process(spec_copy, cache)
    text = spec_copy.read_text(encoding="utf-8").replace("maxLength: 1000", "maxLength: 999")
    spec_copy.write_text(text, encoding="utf-8")
    edited = _load_in_process(spec_copy, cache)
    prompt = edited["document"]["components"]["schemas"]["CreatePromptAvatarRequest"]["properties"]["prompt"]
    assert prompt["maxLength"] == 999 and edited["yaml"] is True


def test_a_corrupt_entry_falls_back_to_the_ordinary_load(spec_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    good = _load_in_process(spec_copy, cache)
    for entry in cache.glob("spec-*.json"):
        entry.write_bytes(b'{"key": "not this one", "raw": {}}')
    again = _load_in_process(spec_copy, cache)
    assert again["document"] == good["document"] and again["yaml"] is True


def test_turned_off_or_unwritable_it_still_loads(spec_copy: Path, tmp_path: Path) -> None:
    off = _load_in_process(spec_copy, tmp_path / "off", AVATAR_CONTRACT_NO_CACHE="1")
    assert not (tmp_path / "off").exists() and off["path"] == "/v3/avatars"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert _load_in_process(spec_copy, blocker / "cache")["path"] == "/v3/avatars"


def test_a_document_json_cannot_hold_exactly_is_not_cached(spec_copy: Path, tmp_path: Path) -> None:
    # YAML reads an unquoted date as a date object, which JSON would turn into a string.
    spec_copy.write_text(spec_copy.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 2026-06-11", 1),
                         encoding="utf-8")
    cache = tmp_path / "cache"
    _load_in_process(spec_copy, cache)
    assert list(cache.glob("spec-*.json")) == []


def test_the_cache_keeps_a_bounded_number_of_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATAR_CONTRACT_CACHE_DIR", str(tmp_path))
    base = vendored_spec_path().read_text(encoding="utf-8")
    for n in range(_cache.MAX_ENTRIES + 5):
        path = tmp_path / f"spec{n}.yaml"
        path.write_text(base.replace("maxLength: 1000", f"maxLength: {1000 + n}"), encoding="utf-8")
        _load_cached.cache_clear()
        assert load_spec(path).document["components"]["schemas"]["CreatePromptAvatarRequest"][
            "properties"]["prompt"]["maxLength"] == 1000 + n
    assert len(list(tmp_path.glob("spec-*.json"))) == _cache.MAX_ENTRIES
