"""400 invalid_parameter for every kind of bad body: the field named, never 422 or 5xx."""

from __future__ import annotations

from typing import Any

import pytest

from avatar_contract.emulator import EmulatorConfig, ManualClock

from ._support import URL, error_of, harness, photo, prompt, twin

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("body", "param"), [
    ({"type": "photo", "name": "A", "file": {"type": "url"}}, "file.url"),
    (photo(name=5), "name"),
    ({"type": "photo", "file": {"type": "url", "url": URL}}, "name"),
    ({"name": "A", "file": {"type": "url", "url": URL}}, "type"),
    (photo(type="video"), "type"),
    (photo(file={"type": "url", "url": URL, "extra": 1}), "file.extra"),
    (photo(file={"type": "link", "url": URL}), "file.type"),
    (prompt(prompt="x" * 1001), "prompt"),
    (prompt(reference_images=[{"type": "url", "url": URL}] * 4), "reference_images"),
    (prompt(reference_images=[{"type": "url", "url": URL}, {"type": "bogus"}]),
     "reference_images[1].type"),
    (prompt(reference_images=[{"type": "base64", "data": "AA=="}]), "reference_images[0].media_type"),
    (twin(avatar_group_id=7), "avatar_group_id"),
    ([], None),
    ("photo", None),
    (0, None),
])
async def test_schema_invalid_bodies_get_400_naming_the_field(body: Any, param: str | None) -> None:
    h = harness()
    response = await h.create(body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = error_of(response)
    assert error["code"] == "invalid_parameter"
    assert error["param"] == param
    assert error["doc_url"] is None
    if param:
        assert error["message"].startswith(f"{param}: ")
    assert h.emulator.created_count() == 0


async def test_max_length_counts_code_points_not_bytes_or_utf16_units() -> None:
    h = harness()
    astral = "😀" * 1000  # 1000 code points, 2000 UTF-16 units, 4000 UTF-8 bytes
    assert (await h.create(prompt(prompt=astral))).status_code == 200
    assert (await h.create(prompt(prompt=astral + "x"))).status_code == 400


@pytest.mark.parametrize("raw", [
    b"", b"   ", b"{", b'{"type": "photo",}', b"\xff\xfe", b"NaN", b'{"a": Infinity}', b"[1, 2",
    b"null",
])
async def test_unparseable_or_non_object_bodies_get_400_with_no_param(raw: bytes) -> None:
    h = harness()
    response = await h.create(content=raw)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_parameter" and error["param"] is None
    assert error["message"]


async def test_json_beyond_orjson_is_still_read() -> None:
    # A 65-bit integer and a lone surrogate are legal JSON; a server must not call them "not JSON".
    h = harness()
    big = await h.create(content=b'{"type": "photo", "name": 18446744073709551616, '
                                 b'"file": {"type": "url", "url": "https://x"}}')
    assert big.status_code == 400 and error_of(big)["param"] == "name"
    lone = await h.create(content=b'{"type": "photo", "name": "A\\ud800", '
                                  b'"file": {"type": "url", "url": "https://x"}}')
    assert lone.status_code == 200
    assert lone.json()["data"]["avatar_item"]["name"] == "A\ud800"


async def test_unknown_top_level_fields_are_accepted_as_the_schema_says() -> None:
    # Only asset objects are closed (additionalProperties: false); the variants are open.
    h = harness()
    assert (await h.create(photo(nickname="x"))).status_code == 200


@pytest.mark.parametrize("declared", [True, False])
async def test_oversized_bodies_get_a_documented_400_without_being_read(declared: bool) -> None:
    h = harness(EmulatorConfig(max_body_bytes=64, clock=ManualClock()))
    big = b'{"type": "photo", "name": "' + b"a" * 100 + b'"}'
    reads: list[int] = []

    async def chunks() -> Any:
        for start in range(0, len(big), 16):
            reads.append(start)
            yield big[start:start + 16]

    if declared:
        response = await h.create(content=big)
    else:  # chunked: no Content-Length, so the limit is enforced while streaming
        response = await h.client.post("/v3/avatars", content=chunks(),
                                       headers={"x-api-key": "avatar-contract-dev-key"})
        assert len(reads) <= 64 // 16 + 1
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_parameter" and "64 bytes" in error["message"]
    assert (await h.create(content=b'{"type": "photo"}')).status_code == 400  # under the limit


async def test_a_body_at_the_limit_is_processed() -> None:
    body = b'{"type":"photo","name":"A","file":{"type":"url","url":"https://x"}}'
    h = harness(EmulatorConfig(max_body_bytes=len(body), clock=ManualClock()))
    assert (await h.create(content=body)).status_code == 200
