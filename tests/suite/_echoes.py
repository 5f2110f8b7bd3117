"""Every form of a key a server can reasonably echo, built independently of redact.py:
the oracle the redaction tests scan outputs with."""

from __future__ import annotations

import base64
import html
import json
import random


def _percent(raw: bytes, pick: random.Random, upper: bool) -> str:
    out = []
    for byte in raw:
        if pick.random() < 0.5:
            out.append(f"%{byte:02X}" if upper else f"%{byte:02x}")
        else:
            out.append(chr(byte))
    return "".join(out)


def echoes(key: str, seed: int = 0) -> dict[str, str]:
    """Named echoes of ``key`` (ASCII): raw, cased, reversed, percent (all and a random
    subset of bytes, both cases), hex, base64/base64url at three alignments, JSON and HTML escapes."""
    raw = key.encode()
    pick = random.Random(seed)
    found = {
        "raw": key, "swapped case": key.swapcase(), "upper": key.upper(), "reversed": key[::-1],
        "hex": raw.hex(), "HEX": raw.hex().upper(),
        "percent all": "".join(f"%{b:02X}" for b in raw), "percent all lower": "".join(f"%{b:02x}" for b in raw),
        "percent some": _percent(raw, pick, True), "percent some lower": _percent(raw, pick, False),
        "json \\u": "".join(f"\\u{ord(c):04x}" for c in key),
        "json \\u upper": "".join(f"\\u{ord(c):04X}" for c in key),
        "html decimal": "".join(f"&#{ord(c)};" for c in key), "html hex": "".join(f"&#x{ord(c):x};" for c in key),
    }
    for pad in (b"", b"u", b"us"):
        found[f"base64 +{len(pad)}"] = base64.b64encode(pad + raw + b"!").decode()
        found[f"base64url +{len(pad)}"] = base64.urlsafe_b64encode(pad + raw + b"?>").decode().rstrip("=")
    half = len(key) // 2
    found["split"] = f"{key[:half]}\",\"second\":\"{key[half:]}"
    return found


def leaks(key: str, text: str) -> list[str]:
    """Which echo of ``key`` survives in ``text`` (also as the JSON or HTML writer would quote it)."""
    raw = key.encode()
    pieces = {f"b64 piece {n}": base64.b64encode(b"\0" * n + raw).decode()[2 * n:][:16] for n in range(3)}
    half = len(key) // 2
    wanted = {**{name: form for name, form in echoes(key).items() if name != "split"}, **pieces,
              "first half": key[:half], "second half": key[half:]}
    found = []
    lowered = text.lower()
    for name, form in wanted.items():
        for shown in {form, html.escape(form), json.dumps(form)[1:-1]}:
            if (shown.lower() in lowered) if name in ("raw", "swapped case", "upper", "reversed", "hex", "HEX",
                                                      "first half", "second half") else (shown in text):
                found.append(name)
                break
    return found
