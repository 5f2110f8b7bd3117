"""The ``param`` format of a 400: JSON Pointer in, client-style field path out."""

from __future__ import annotations

from typing import Any

import pytest

from avatar_contract.emulator._params import param_for


@pytest.mark.parametrize(("pointer", "payload", "expected"), [
    ("", {}, None),
    ("/name", {"name": 1}, "name"),
    ("/file/url", {"file": {}}, "file.url"),
    ("/reference_images/1/type", {"reference_images": [{}, {}]}, "reference_images[1].type"),
    ("/reference_images/7", {"reference_images": []}, "reference_images[7]"),
    # An object key that looks like an index stays a key.
    ("/file/1", {"file": {"1": True}}, 'file["1"]'),
    ("/file/my key", {"file": {}}, 'file["my key"]'),
    ("/file/a.b", {"file": {}}, 'file["a.b"]'),
    ("/a~1b", {}, '["a/b"]'),
    ("/ünï", {}, '["ünï"]'),
    ("not-a-pointer", {}, None),
])
def test_param_paths(pointer: str, payload: Any, expected: str | None) -> None:
    assert param_for(pointer, payload) == expected
