"""A reproducing curl line for an exchange: the key redacted, the Idempotency-Key fresh.

The key is written as a shell variable (``${AVATAR_API_KEY}``), so the line
runs as is once the variable is set; keys the suite derived from a real one
(a truncated or extended key) are shell expressions over the variable, never
the characters themselves.  A well-formed Idempotency-Key keeps its length and
leading characters but gets a fresh tail on every run (re-running must not
replay what the server stored); a malformed one is sent exactly.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from ..probes.keys import regenerable
from ..targets.exchange import Exchange
from ..targets.target import header_variable, secret_header


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


def as_curl(exchange: Exchange, base_url: str, extra_headers: Sequence[tuple[str, str]] = (),
            key_word: str | None = None) -> str:
    """One line.  ``extra_headers``: the run's --header entries (a secret one as a shell variable).

    A well-formed Idempotency-Key gets a fresh tail each time the line runs, unless
    ``key_word`` gives the header's shell word (a variable that lines sharing the key share).
    """
    raw = exchange.request.header("idempotency-key")
    fresh = key_word or (fresh_key_word(raw) if raw is not None else None)
    prefix, words = curl_parts(exchange, base_url, header_words={"idempotency-key": fresh} if fresh else None,
                               extra_headers=extra_headers)
    return prefix + " ".join(words)


def fresh_key_word(raw: bytes) -> str | None:
    """The header as a shell word that regenerates the key's tail (bash builtins only), or None."""
    try:
        split = regenerable(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if split is None:
        return None  # malformed: the exact bytes are the evidence
    kept, tail = split
    # Escaped for double quotes, in case a spec's key alphabet allows $, `, " or \.
    kept = "".join("\\" + c if c in '\\"$`' else c for c in kept)
    return f'"Idempotency-Key: {kept}{fresh_tail(tail)}"'


def fresh_tail(length: int) -> str:
    """A shell expression for ``length`` (at most 12) fresh hex digits, with bash builtins only:
    a line pasted into a shell has no helper functions to call (the repro scripts do)."""
    hex_run = "$(printf '%04x%04x%04x' $RANDOM $RANDOM $RANDOM)"
    return f"$(printf '%.{length}s' \"{hex_run}\")"


def curl_parts(exchange: Exchange, base_url: str, options: Sequence[str] = ("-sS", "-i"),
               header_words: Mapping[str, str] | None = None,
               extra_headers: Sequence[tuple[str, str]] = ()) -> tuple[str, list[str]]:
    """(what to pipe into curl, curl's words) for the exchange's request.

    ``header_words`` replaces the shell word of a header by name (lower case),
    e.g. an Idempotency-Key taken from a variable the script generates.
    """
    request = exchange.request
    url = base_url.rstrip("/") + request.path
    words = ["curl", *options, "-X", request.method, shlex.quote(url)]
    for extra_name, extra_value in extra_headers:
        words += ["-H", f'"{extra_name}: {header_variable(extra_name)}"' if secret_header(extra_name)
                  else _header_word(extra_name, extra_value.encode("utf-8"))]
    if request.credential is not None:
        cred = request.credential
        words += ["-H", f'"{cred.header}: {cred.shell}"']
    replaced = header_words or {}
    for name, value in request.headers:
        words += ["-H", replaced.get(name.lower()) or _header_word(name, value)]
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
    return prefix, words
