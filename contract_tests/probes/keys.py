"""Idempotency-Key values: fresh ones, and the edge cases of the spec's key format.

The alphabet and the length limits come from the spec's header schema (the
alphabet by asking the validator about every printable ASCII character), so a
spec that widens or narrows the format changes the cases with it.
"""

from __future__ import annotations

import functools
import secrets
import string

from avatar_contract.spec import Spec
from avatar_contract.validators import Linter

from ..targets.suite_spec import suite_spec

# Characters servers commonly mishandle in header values; each is used only if
# the spec's key format rejects it.
SUSPECT_CHARACTERS = (" ", "/", "=", '"', "'", "é", "+", "@", ",", ";", "%", "*", "~")


def _linter() -> Linter:
    return _linter_for(suite_spec())


@functools.cache
def _linter_for(spec: Spec) -> Linter:
    return Linter(spec)


def is_valid_key(value: str) -> bool:
    return _linter().check_idempotency_key(value).valid


def alphabet() -> str:
    """Every printable ASCII character the key format allows."""
    return _alphabet_for(suite_spec())


@functools.cache
def _alphabet_for(spec: Spec) -> str:
    linter = _linter_for(spec)
    return "".join(c for c in string.printable
                   if c not in string.whitespace and linter.check_idempotency_key(c).valid)


def limits() -> tuple[int, int]:
    """(minLength, maxLength) of the key, from its schema; generous defaults if unstated."""
    return _limits_for(suite_spec())


@functools.cache
def _limits_for(spec: Spec) -> tuple[int, int]:
    header = _linter_for(spec).contract.idempotency_key
    schema = header.schema if header else {}
    low = schema.get("minLength", 1)
    high = schema.get("maxLength", 255)
    return int(low), int(high)


def _filler() -> str:
    # Letters and digits the format allows: a key made of them is valid by construction.
    return "".join(c for c in alphabet() if c.isalnum()) or alphabet()


def fresh_key(length: int = 32, prefix: str = "") -> str:
    """A key no earlier run can have used (random, from the allowed alphabet)."""
    chars = _filler()
    body = "".join(secrets.choice(chars) for _ in range(max(0, length - len(prefix))))
    return (prefix + body)[:length] if length else ""


FRESH_TAIL = 12  # trailing characters a reproducer regenerates on each run
HEX = "0123456789abcdef"


def regenerable(key: str) -> tuple[str, int] | None:
    """(kept prefix, length of the tail to regenerate) for a reproducer, or None to keep the key.

    Only a well-formed key is regenerated (a malformed one is the evidence), and
    only its trailing run of ASCII letters and digits (at most ``FRESH_TAIL``),
    with hex digits: the length and every other character, so every character
    class the key was chosen for, stay as they were.
    """
    if not key or not set(HEX) <= set(alphabet()) or not is_valid_key(key):
        return None
    tail = 0
    while tail < min(len(key), FRESH_TAIL) and key[-tail - 1].isascii() and key[-tail - 1].isalnum():
        tail += 1
    return (key[:-tail], tail) if tail else None


def character_classes() -> dict[str, str]:
    """Allowed characters grouped: upper, lower, digits, then each other character alone."""
    allowed = alphabet()
    groups = {
        "upper-case letters": "".join(c for c in allowed if c in string.ascii_uppercase),
        "lower-case letters": "".join(c for c in allowed if c in string.ascii_lowercase),
        "digits": "".join(c for c in allowed if c in string.digits),
    }
    for c in allowed:
        if not c.isalnum():
            groups[f"{c!r}"] = c
    return {name: chars for name, chars in groups.items() if chars}


def valid_keys() -> list[tuple[str, str]]:
    """(label, key) pairs a correct server must accept, most telling first."""
    low, high = limits()
    out = [
        (f"a key of {low} character(s)", fresh_key(low)),
        (f"a key of {high} characters using every allowed class", _every_class(high)),
    ]
    for name, chars in character_classes().items():
        out.append((f"a key with {name}", fresh_key(max(len(chars) + 8, low), prefix=chars)))
    for label, key in out:
        if not is_valid_key(key):
            raise AssertionError(f"built an invalid key for {label!r}")
    return out


def _every_class(length: int) -> str:
    mixed = "".join(character_classes().values())
    return fresh_key(length, prefix=mixed[:length])


NO_KEY = "no Idempotency-Key"  # the key-edge label of a create sent without the header


def key_optional() -> bool:
    """Whether the spec makes the Idempotency-Key header optional (a create without it is valid)."""
    header = _linter().contract.idempotency_key
    return header is not None and not header.required


def invalid_keys() -> list[tuple[str, bytes]]:
    """(label, raw header value) pairs a correct server must refuse with 400."""
    low, high = limits()
    out: list[tuple[str, bytes]] = []
    if low >= 1:
        out.append(("an empty key", b""))
    out.append((f"a key of {high + 1} characters", fresh_key(high + 1).encode()))
    for char in SUSPECT_CHARACTERS:
        key = fresh_key(8) + char + fresh_key(8)
        if not is_valid_key(key):
            name = "a space" if char == " " else f"{char!r}"
            out.append((f"a key containing {name}", key.encode("utf-8")))
    return out
