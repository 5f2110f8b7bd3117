"""The reference implementations the linter is compared with, built from the normalised spec.

* :func:`jsonschema_validator`: Python ``jsonschema`` (Draft 2020-12, format
  checker on) on the bundled request schema, with ``$ref`` resolution through
  the spec's ``referencing`` registry.  Its verdict is the one the linter must
  agree with.
* :func:`openapi_request_validator`: openapi-core validating a whole HTTP
  request against the normalised document (the published one does not load).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from avatar_contract.spec import SPEC_URI, Spec
from avatar_contract.validators import contract_for


def request_schema(spec: Spec | str | None = None) -> dict[str, Any]:
    # A reference into the whole document (resolved by `referencing`), so the
    # schema's own "#/components/..." refs keep pointing where they should.
    return {"$ref": SPEC_URI + "#" + contract_for(spec).request.pointer}


def jsonschema_validator(spec: Spec | str | None = None) -> Draft202012Validator:
    contract = contract_for(spec)
    return Draft202012Validator(
        request_schema(contract.spec),
        registry=contract.spec.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


class _Request:
    """The smallest object openapi-core 0.23 accepts as a request (its ``Request`` protocol)."""

    def __init__(self, path: str, method: str, body: bytes, headers: dict[str, str]) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = "https://api.heygen.com"
        self.path = path
        self.method = method
        self.body = body
        self.content_type = "application/json"
        self.parameters = RequestParameters(
            path={}, query=ImmutableMultiDict(), header=Headers(headers),
            cookie=ImmutableMultiDict(),
        )


def openapi_request_validator(spec: Spec | str | None = None) -> Callable[[bytes], bool]:
    """``check(body) -> valid`` for a POST of ``body``, with an API key and an Idempotency-Key."""
    from openapi_core import OpenAPI
    from openapi_core.validation.request.exceptions import RequestValidationError

    loaded = contract_for(spec).spec
    app = OpenAPI.from_dict(loaded.document, base_uri=SPEC_URI)
    headers = {"x-api-key": "bench-key", "Idempotency-Key": "bench-0001"}

    def check(body: bytes) -> bool:
        request = _Request(loaded.path, loaded.method, body, headers)
        try:
            app.validate_request(request)
        except RequestValidationError:
            return False
        except TypeError:
            # openapi-core raises TypeError on a non-string discriminator
            # (`3`, `["photo"]`, `{}`): the payload is invalid either way.
            return False
        return True

    return check
