"""A reproducing curl line for an exchange: the key redacted, the Idempotency-Key kept.

The key is written as a shell variable (``${AVATAR_API_KEY}``), so the line
runs as is once the variable is set; keys the suite derived from a real one
(a truncated or extended key) are shell expressions over the variable, never
the characters themselves.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from .exchange import Exchange
from .target import header_variable, secret_header


def _ansi_c(data: bytes) -> str:
    """Bash ``$'...'`` quoting, for header values that are not plain UTF-8 text."""
    out = []
    for byte in data:
        if byte in (0x27, 0x5C):  # ' and \
            out.append("\\" + chr(byte))
        elif 32 <= byte < 127:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "$'" + "".join(out) + "'"


def _header_word(name: str, value: bytes) -> str:
    if value == b"":
        # curl drops "Name:" headers; "Name;" sends the header with an empty value.
        return shlex.quote(f"{name};")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return _ansi_c(f"{name}: ".encode() + value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return _ansi_c(f"{name}: ".encode() + value)
    return shlex.quote(f"{name}: {text}")


def _printf_format(data: bytes) -> str:
    """A printf(1) format string that writes exactly ``data`` (NUL bytes included)."""
    out = []
    for byte in data:
        if byte == 0x25:
            out.append("%%")
        elif byte == 0x5C:
            out.append("\\\\")
        elif 32 <= byte < 127:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    return shlex.quote("".join(out))


def as_curl(exchange: Exchange, base_url: str, extra_headers: Sequence[tuple[str, str]] = ()) -> str:
    """``extra_headers``: the run's --header entries (a secret one as a shell variable)."""
    request = exchange.request
    url = base_url.rstrip("/") + request.path
    words = ["curl", "-sS", "-i", "-X", request.method, shlex.quote(url)]
    for name, value in extra_headers:
        words += ["-H", f'"{name}: {header_variable(name)}"' if secret_header(name)
                  else _header_word(name, value.encode("utf-8"))]
    if request.credential is not None:
        cred = request.credential
        words += ["-H", f'"{cred.header}: {cred.shell}"']
    for name, value in request.headers:
        words += ["-H", _header_word(name, value)]
    prefix = ""
    content = request.content
    if content is not None:
        try:
            text = content.decode("utf-8")
            plain = all(ord(c) >= 32 or ord(c) in (9, 10) for c in text) and "\x7f" not in text
        except UnicodeDecodeError:
            plain = False
        if plain and content:
            words += ["--data-raw", shlex.quote(text)]
        elif not content:
            words += ["--data-binary", "''"]
        else:
            prefix = f"printf {_printf_format(content)} | "
            words += ["--data-binary", "@-"]
    return prefix + " ".join(words)
