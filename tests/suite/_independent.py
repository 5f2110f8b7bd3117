"""A second, independent implementation of Create Avatar, for the no-false-alarm test.

It shares no code with the emulator or the validators: it validates with
python-jsonschema (not jsonschema-rs) and makes every choice the spec leaves
open differently from the emulator:

* a retry during the original *waits* and replays (instead of 409); a create takes
  ``create_seconds`` (0.25 s: long enough that a race's overlap shows in its timing,
  as it does on a live API, whose creates take longer);
* refused requests are stored under their key too (the spec is silent);
* ``param`` is a JSON Pointer, ids and messages look nothing alike, errors and
  bodies carry extra fields, ``Content-Type`` has a charset;
* a prompt avatar is reported as ``studio_avatar`` (the spec does not say);
* an empty ``avatar_group_id`` is taken as "no group" (a new one is made);
* the rate limit is a fixed window, and the body is validated before the key.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from avatar_contract.spec import load_spec

KEY = re.compile(r"[A-Za-z0-9_\-:.]{1,255}")
TYPES = {"photo": "photo_avatar", "digital_twin": "digital_twin", "prompt": "studio_avatar"}


class Independent:
    def __init__(self, keys: tuple[str, ...], window: tuple[int, float] = (150, 1.0),
                 utf16_lengths: bool = False, create_seconds: float = 0.25) -> None:
        self.create_seconds = create_seconds
        # utf16_lengths: a bug outside the emulator's catalogue (lengths counted in
        # UTF-16 code units, as JavaScript's String.length does).
        self.utf16_lengths = utf16_lengths
        document = load_spec().document
        registry: Registry[Any] = Registry().with_resource(
            "urn:x", Resource.from_contents(document, default_specification=DRAFT202012))
        schema = document["paths"]["/v3/avatars"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        self.validator = Draft202012Validator({"$ref": "urn:x" + schema["$ref"]}, registry=registry)
        self.tenants = {key: f"tenant-{i}" for i, key in enumerate(keys)}
        self.limit, self.period = window
        self.windows: dict[str, tuple[float, int]] = {}
        self.records: dict[tuple[str, str], asyncio.Future[tuple[int, bytes]]] = {}
        self.created = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"] != "/v3/avatars" or scope["method"] != "POST":
            status, out, extra = 405, self.error("method_not_allowed", "POST only"), [(b"allow", b"POST")]
        else:
            status, out, extra = await self.create(headers, body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json; charset=utf-8"), *extra]})
        await send({"type": "http.response.body", "body": out})

    @staticmethod
    def error(code: str, message: str, param: str | None = None) -> bytes:
        return json.dumps({"error": {"code": code, "message": message, "param": param,
                                     "doc_url": "https://docs.example/errors", "trace": "t-1"}}).encode()

    def tenant(self, headers: dict[str, str]) -> str | None:
        key = headers.get("x-api-key")
        if key is None and "authorization" in headers:
            scheme, _, token = headers["authorization"].partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else None
        return self.tenants.get(key or "")

    def throttled(self, tenant: str) -> int:
        now = time.monotonic()
        start, count = self.windows.get(tenant, (now, 0))
        if now - start >= self.period:
            start, count = now, 0
        if count >= self.limit:
            return max(1, math.ceil(self.period - (now - start)))
        self.windows[tenant] = (start, count + 1)
        return 0

    async def create(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        tenant = self.tenant(headers)
        if tenant is None:
            return 401, self.error("authentication_failed", "who are you?"), []
        wait = self.throttled(tenant)
        if wait:
            return 429, self.error("rate_limit_exceeded", "later"), [(b"retry-after", str(wait).encode())]
        key = headers.get("idempotency-key")
        if key is not None and not KEY.fullmatch(key):
            return 400, self.error("invalid_parameter", "bad key", "header:Idempotency-Key"), []
        if key is None:
            return (*await self.process(raw), [])
        record = self.records.get((tenant, key))
        if record is None:
            record = self.records[(tenant, key)] = asyncio.get_running_loop().create_future()
            record.set_result(await self.process(raw))
        return (*await asyncio.shield(record), [(b"x-replayed", b"maybe")])

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, self.error("invalid_parameter", "unreadable JSON", "/")
        prompt = body.get("prompt") if isinstance(body, dict) else None
        if self.utf16_lengths and isinstance(prompt, str) and len(prompt.encode("utf-16-le")) // 2 > 1000:
            return 400, self.error("invalid_parameter", "prompt too long", "/prompt")
        errors = sorted(self.validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/" + "/".join(str(p) for p in errors[0].absolute_path)
            return 400, self.error("invalid_parameter", errors[0].message[:200], where)
        await asyncio.sleep(self.create_seconds)
        self.created += 1
        group = body.get("avatar_group_id") or f"grp-{uuid.uuid4()}"
        look = {"id": f"look-{uuid.uuid4()}", "name": body["name"], "avatar_type": TYPES[body["type"]],
                "group_id": group, "status": "processing", "tags": [], "x_internal": 1}
        item_group = {"id": group, "name": body["name"], "created_at": int(time.time()), "looks_count": 1,
                      "status": "processing", "region": "eu"}
        return 200, json.dumps({"data": {"avatar_item": look, "avatar_group": item_group}, "meta": {}}).encode()


def json_or_none(raw: bytes) -> Any:
    """The parsed body, or None where it is not JSON (servers built on Independent decide on it)."""
    try:
        return json.loads(raw)
    except ValueError:
        return None
