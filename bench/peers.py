"""Peers for ``lint_bench.py``: pydantic (with a model written for the bench) and jsonschema-rs.

The pydantic model is the vendored request schema written by hand, as a
service would write it: a union discriminated on ``type`` (prompt,
digital_twin, photo), each with its asset union discriminated on ``type``
(url, asset_id, base64; closed objects), ``prompt`` at most 1,000
characters, ``reference_images`` at most 3 items.  It gives errors, not
advice.  Its verdicts are checked against the linter's on the corpus (the
bench prints the agreement), so the comparison is on equal work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import orjson

from avatar_contract.validators import contract_for


def pydantic_errors() -> Callable[[bytes], Any] | None:
    """``validate_json`` + ``errors()`` on the bench's model, or None if pydantic is absent."""
    try:
        from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
    except ImportError:
        return None

    class Closed(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class AssetUrl(Closed):
        type: Literal["url"]
        url: str

    class AssetId(Closed):
        type: Literal["asset_id"]
        asset_id: str

    class AssetBase64(Closed):
        type: Literal["base64"]
        media_type: str
        data: str

    Asset = Annotated[AssetUrl | AssetId | AssetBase64, Field(discriminator="type")]

    class Open(BaseModel):
        model_config = ConfigDict(extra="allow")

    class Prompt(Open):
        type: Literal["prompt"]
        name: str
        prompt: Annotated[str, Field(max_length=1000)]
        reference_images: Annotated[list[Asset], Field(max_length=3)] | None = None
        avatar_group_id: str | None = None

    class DigitalTwin(Open):
        type: Literal["digital_twin"]
        name: str
        file: Asset
        avatar_group_id: str | None = None

    class Photo(Open):
        type: Literal["photo"]
        name: str
        file: Asset
        avatar_group_id: str | None = None

    adapter: Any = TypeAdapter(Annotated[Prompt | DigitalTwin | Photo, Field(discriminator="type")])
    validate = adapter.validate_json

    def one(body: bytes) -> Any:
        try:
            validate(body)
        except ValidationError as exc:
            return exc.errors()
        return ()
    return one


def jsonschema_rs_errors() -> Callable[[bytes], Any]:
    """jsonschema-rs ``iter_errors`` with the linter's verdict validator, after ``orjson.loads``."""
    validator = contract_for().request.verdict
    loads = orjson.loads

    def one(body: bytes) -> Any:
        return list(validator.iter_errors(loads(body)))
    return one
