"""A variant of the independent implementation whose accounts own their resources.

Correct, like :class:`Independent`, and strict where the spec is silent in the
way a multi-tenant server is: a group or an uploaded asset belongs to the
account that made it (the asset fixture's, to the first key's account); a group
must be one of the account's own, and naming another account's asset is refused with 400 ``invalid_parameter``
(``param`` a JSON Pointer to the field).  Nothing in the spec lets one account
attach to another's group.

``document``: the spec to validate with (the June 2026 one, say); the vendored
one by default.  Where its prompt variant has ``avatar_id``, the avatar must be
one of the account's (``looks``: the fixture's, the first key's, with their
groups) and in the ``avatar_group_id`` sent, else 400; without a group the new
avatar joins the referenced one's.  ``bug`` breaks one of those on purpose:
``"any_avatar"`` (a missing or foreign avatar is taken, into a new group),
``"any_group"`` (an avatar outside the group sent is taken), ``"new_group"``
(the new avatar is not saved to the referenced one's group).
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ._independent import Independent, json_or_none

_TENANT: ContextVar[str | None] = ContextVar("tenant", default=None)


class PerAccount(Independent):
    def __init__(self, keys: tuple[str, ...], *, groups: tuple[str, ...] = (), assets: tuple[str, ...] = (),
                 document: dict[str, Any] | None = None, looks: dict[str, str] | None = None,
                 bug: str = "", window: tuple[int, float] = (150, 1.0)) -> None:
        super().__init__(keys, window)
        prompt = (document or {}).get("components", {}).get("schemas", {}).get("CreatePromptAvatarRequest", {})
        self.references = "avatar_id" in (prompt.get("properties") or {})
        self.bug = bug
        if document is not None:
            registry: Registry[Any] = Registry().with_resource(
                "urn:x", Resource.from_contents(document, default_specification=DRAFT202012))
            schema = document["paths"]["/v3/avatars"]["post"]["requestBody"]["content"]["application/json"]
            self.validator = Draft202012Validator({"$ref": "urn:x" + schema["schema"]["$ref"]}, registry=registry)
        first = self.tenants[keys[0]]
        # What each account owns: the fixture's group and asset ids are the first key's.
        self.owned: dict[str, set[str]] = {tenant: set() for tenant in self.tenants.values()}
        self.owned[first] |= {*groups, *assets, *(looks or {}).values()}
        self.looks: dict[str, tuple[str, str]] = {look: (first, group) for look, group in (looks or {}).items()}
        self.foreign_refused: list[tuple[str, str]] = []  # (tenant, pointer) of each refusal

    async def create(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        token = _TENANT.set(self.tenant(headers))  # for process(), after auth, the limiter and the key
        try:
            return await super().create(headers, raw)
        finally:
            _TENANT.reset(token)

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        tenant, body = _TENANT.get(), json_or_none(raw)
        # The schema first (an invalid body gets the validator's 400), then ownership.
        if tenant is not None and isinstance(body, dict) and self.validator.is_valid(body):
            foreign = self.foreign(tenant, body)
            if foreign is not None:
                self.foreign_refused.append((tenant, foreign))
                return 400, self.error("invalid_parameter", "no such resource in this account", foreign)
            if self.references and body.get("type") == "prompt" and isinstance(body.get("avatar_id"), str):
                refused, raw = self.referenced(tenant, body, raw)
                if refused is not None:
                    return 400, self.error("invalid_parameter", refused, "/avatar_id")
        status, out = await super().process(raw)
        if tenant is not None and status == 200:
            data = json.loads(out)["data"]
            self.owned[tenant].add(data["avatar_group"]["id"])
            self.looks[data["avatar_item"]["id"]] = (tenant, data["avatar_group"]["id"])
        return status, out

    def referenced(self, tenant: str, body: dict[str, Any], raw: bytes) -> tuple[str | None, bytes]:
        """A refusal of the referenced avatar, or the body to create (joined to the avatar's group)."""
        owner, group = self.looks.get(body["avatar_id"], (None, None))
        sent = body.get("avatar_group_id")
        if owner != tenant and self.bug != "any_avatar":
            return "no such avatar in this account", raw
        if isinstance(sent, str) and sent and sent != group and self.bug != "any_group":
            return "the avatar is not in the group sent", raw
        if group is not None and not sent and owner == tenant and self.bug != "new_group":
            return None, json.dumps({**body, "avatar_group_id": group}).encode()
        return None, raw

    def owner(self, resource: str) -> str | None:
        return next((tenant for tenant, owned in self.owned.items() if resource in owned), None)

    def foreign(self, tenant: str, body: dict[str, Any]) -> str | None:
        """The pointer of the first resource ``body`` names that ``tenant`` does not own."""
        mine = self.owned[tenant]
        group = body.get("avatar_group_id")
        if isinstance(group, str) and group and group not in mine:
            return "/avatar_group_id"
        for field, value in body.items():
            for index, asset in enumerate(value if isinstance(value, list) else [value]):
                ident = asset.get("asset_id") if isinstance(asset, dict) else None
                if isinstance(ident, str) and ident not in mine and self.owner(ident) is not None:
                    return f"/{field}/{index}/asset_id" if isinstance(value, list) else f"/{field}/asset_id"
        return None
