"""Which clause a refusal probe belongs to: the defect a 2xx to it shows.

A probe is a request a correct server refuses.  When one is answered 2xx the
breaker opens, and that answer is evidence against the clause that owns what
made the request refusable, wherever in the run it was sent (the preflight, a
tour of error statuses, the owner itself).  The first reason a correct server
has to refuse wins: no credential (or an empty one: a blank key, a Bearer scheme with
no token), then a credential that is no key of the run,
then a malformed Idempotency-Key, then a body that is not valid.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from ..probes.keys import is_valid_key
from ..targets.exchange import ABSENT, SentRequest


def refusal_owner(request: SentRequest, real_keys: Collection[str],
                  is_valid: Callable[[Any], bool] | None) -> str | None:
    """The owning clause of ``request``'s refusal, or None when nothing marks it as refusable."""
    credential = request.credential
    if credential is None or _empty(credential.header, credential.value):
        return "auth.missing"
    if not is_real(credential.header, credential.value, real_keys):
        return "auth.invalid"
    raw = request.header("idempotency-key")
    if raw is not None and not is_valid_key(raw.decode("utf-8", "surrogateescape")):
        return "idempotency.key_format"
    if request.value is ABSENT or (is_valid is not None and not is_valid(request.value)):
        return "request.rejects_invalid"
    return None


def refusal_reason(request: SentRequest, owner: str) -> str:
    """Why a correct server refuses ``request``, in a reader's words (what made it ``owner``'s)."""
    credential = request.credential
    if owner == "auth.missing":
        return "it carries no credential" if credential is None else f"its {credential.header} is empty"
    if owner == "auth.invalid":
        return f"its {credential.header if credential else 'credential'} holds no key of this run"
    if owner == "idempotency.key_format":
        key = (request.header("idempotency-key") or b"").decode("utf-8", "surrogateescape")
        return "its Idempotency-Key is empty" if not key else \
            f"its Idempotency-Key ({len(key)} characters) breaks the spec's key format"
    return "its body is not a valid request"


def is_real(header: str, value: str, real_keys: Collection[str]) -> bool:
    """Whether ``header: value`` is one of the spec's two credential forms carrying a real key.

    The header is compared with its form, not the value alone: the key as ``Authorization`` with no
    scheme, or ``Bearer <key>`` in ``x-api-key``, is a wrong credential (auth.invalid's probes send
    both).  Header names and the auth scheme are case-insensitive (RFC 9110 §5.1, §11.1); the key
    is compared exactly.
    """
    name = header.lower()
    if name == "x-api-key":
        return value in real_keys
    if name == "authorization":
        scheme, _, token = value.partition(" ")
        return scheme.lower() == "bearer" and token in real_keys
    return False


def _empty(header: str, value: str) -> bool:
    """A credential header that carries no credential: an empty key, or a scheme with no token
    (auth.missing's cases, not a wrong key)."""
    words = value.split()
    return not words or (header.lower() == "authorization" and len(words) == 1 and words[0].lower() == "bearer")
