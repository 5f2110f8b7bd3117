"""A server wrong at one schema keyword fails the clause that owns that keyword, and no other.

Each server is the independent implementation (correct, and different from the
emulator in every choice the spec leaves open) with one departure from the
spec, of the kind a careless implementation makes; none is in the emulator's
fault catalogue.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import run_suite
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.target import Target

from ._independent import Independent, json_or_none
from ._support import ASSETS, KEY_1, KEY_2, REMOTE


class _Rewrites(Independent):
    """Validates a rewritten body: what the server "forgives" before checking."""

    def rewrite(self, body: Any) -> Any:
        return body

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        body = json_or_none(raw)
        if isinstance(body, dict):
            raw = json.dumps(self.rewrite(body)).encode()
        return await super().process(raw)


def _assets(body: dict[str, Any]) -> list[dict[str, Any]]:
    refs = body.get("reference_images")
    found = [body.get("file"), *(refs if isinstance(refs, list) else [])]
    return [a for a in found if isinstance(a, dict)]


class ConstCaseInsensitive(_Rewrites):
    """Matches discriminator values case-insensitively ("URL" is taken as "url")."""

    def rewrite(self, body: Any) -> Any:
        if isinstance(body.get("type"), str):
            body["type"] = body["type"].lower()
        for asset in _assets(body):
            if isinstance(asset.get("type"), str):
                asset["type"] = asset["type"].lower()
        return body


class ExtraAssetPropertyAccepted(_Rewrites):
    """Drops unknown properties of a nested asset instead of refusing them."""

    def rewrite(self, body: Any) -> Any:
        for asset in _assets(body):
            for name in [k for k in asset if k not in ("type", "url", "asset_id", "data", "media_type")]:
                del asset[name]
        return body


class TrimsBeforeCounting(_Rewrites):
    """Strips surrounding whitespace from strings before checking their length."""

    def rewrite(self, body: Any) -> Any:
        return {k: v.strip() if isinstance(v, str) and k != "type" else v for k, v in body.items()}


class CountsAfterNFC(_Rewrites):
    """Normalises strings to NFC before checking their length (a base letter and a combining mark count once)."""

    def rewrite(self, body: Any) -> Any:
        return {k: unicodedata.normalize("NFC", v) if isinstance(v, str) else v for k, v in body.items()}


class CountsAfterNFD(_Rewrites):
    """Decomposes strings (NFD) before checking their length: a precomposed letter counts twice."""

    def rewrite(self, body: Any) -> Any:
        return {k: unicodedata.normalize("NFD", v) if isinstance(v, str) and k != "type" else v
                for k, v in body.items()}


class ReadsTrailingBytes(Independent):
    """Reads the first JSON value of the body and ignores whatever follows it."""

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        try:
            value, _ = json.JSONDecoder().raw_decode(raw.decode("utf-8"))
        except ValueError:
            return await super().process(raw)
        return await super().process(json.dumps(value).encode())


class RefusesNullReferences(Independent):
    """Refuses ``reference_images: null``, which the spec allows (anyOf [array, null])."""

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        body = json_or_none(raw)
        if isinstance(body, dict) and "reference_images" in body and body["reference_images"] is None:
            return 400, self.error("invalid_parameter", "reference_images must be a list", "/reference_images")
        return await super().process(raw)


class RefusesUndeclaredProperties(Independent):
    """Refuses a request body with a property its variant does not declare, though the spec leaves
    the request objects open (only the asset objects say ``additionalProperties: false``)."""

    declared = frozenset({"type", "name", "file", "prompt", "reference_images", "avatar_group_id", "avatar_id"})

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        body = json_or_none(raw)
        if isinstance(body, dict) and set(body) - self.declared:
            extra = sorted(set(body) - self.declared)[0]
            return 400, self.error("invalid_parameter", f"unknown field {extra!r}", f"/{extra}")
        return await super().process(raw)


class CountsUtf16(Independent):
    def __init__(self, keys: tuple[str, ...]) -> None:
        super().__init__(keys, utf16_lengths=True)


class KeyCaseInsensitive(Independent):
    """Compares API keys case-insensitively."""

    def tenant(self, headers: dict[str, str]) -> str | None:
        found = super().tenant(headers)
        key = headers.get("x-api-key", "").lower()
        return found or next((t for k, t in self.tenants.items() if k.lower() == key and key), None)


class KeyWithoutSpaces(Independent):
    """Removes whitespace (and a "Bearer " prefix) from x-api-key before comparing it."""

    def tenant(self, headers: dict[str, str]) -> str | None:
        if "x-api-key" in headers:
            value = headers["x-api-key"].removeprefix("Bearer ")
            headers = {**headers, "x-api-key": "".join(value.split())}
        return super().tenant(headers)


class IdempotencyKeyCaseFolded(Independent):
    """Stores Idempotency-Keys lower-cased, so keys differing only in case collide."""

    async def create(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        if "idempotency-key" in headers:
            headers = {**headers, "idempotency-key": headers["idempotency-key"].lower()}
        return await super().create(headers, raw)


class SkipsKeyFormatUnderBearer(Independent):
    """Checks the Idempotency-Key's format only for x-api-key callers (a Bearer one's malformed key is dropped)."""

    async def create(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        if "authorization" in headers and "idempotency-key" in headers:
            headers = {k: v for k, v in headers.items() if k != "idempotency-key"}
        return await super().create(headers, raw)


CASES = [
    pytest.param(SkipsKeyFormatUnderBearer, "idempotency.key_format", id="key-format-skipped-under-bearer"),
    pytest.param(IdempotencyKeyCaseFolded, "idempotency.key_format", id="idempotency-key-case-folded"),
    pytest.param(KeyCaseInsensitive, "auth.invalid", id="key-case-insensitive"),
    pytest.param(KeyWithoutSpaces, "auth.invalid", id="key-whitespace-and-scheme-stripped"),
    pytest.param(RefusesNullReferences, "request.variants", id="null-refused-where-allowed"),
    pytest.param(RefusesUndeclaredProperties, "request.variants", id="undeclared-property-refused"),
    pytest.param(CountsUtf16, "request.rejects_invalid", id="utf16-lengths"),
    pytest.param(ConstCaseInsensitive, "request.rejects_invalid", id="const-case-insensitive"),
    pytest.param(ExtraAssetPropertyAccepted, "request.rejects_invalid", id="extra-asset-property"),
    pytest.param(TrimsBeforeCounting, "request.rejects_invalid", id="trims-before-counting"),
    pytest.param(CountsAfterNFC, "request.rejects_invalid", id="nfc-before-counting"),
    # A must-accept value packed in a create: the refusal is split, only the limit's owner fails.
    pytest.param(CountsAfterNFD, "request.rejects_invalid", id="nfd-before-counting"),
    pytest.param(ReadsTrailingBytes, "request.rejects_invalid", id="trailing-bytes"),
]


def _run(server: type[Independent]) -> tuple[dict[str, Any], Independent]:
    app = server((KEY_1, KEY_2))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    profile="quick", seed=5, assets=load_assets(ASSETS))
    names = [n for n in ("auth.missing", "auth.invalid", "auth.bearer", "request.variants",
                         "request.rejects_invalid", "response.schema", "errors.envelope",
                         "idempotency.key_format", "idempotency.replay")]
    return {r.name: r for r in run_suite(target, names)}, app


@pytest.mark.slow  # a matrix: one suite run per keyword bug
@pytest.mark.parametrize(("server", "owner"), CASES)
def test_a_bug_at_one_keyword_fails_its_owner_only(server: type[Independent], owner: str) -> None:
    results, _ = _run(server)
    assert results[owner].verdict is Verdict.FAIL, (results[owner].verdict, results[owner].reason)
    # The breaker stops a live run at the first unexpected create: later clauses may be left
    # incomplete, never failed.
    others = {n: [f.message for f in r.failures[:2]] for n, r in results.items()
              if n != owner and r.verdict is Verdict.FAIL}
    assert not others, others
