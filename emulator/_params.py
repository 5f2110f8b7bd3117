"""The ``param`` of a 400: which request field was wrong, written the way clients write it.

Format (derived from the finding's RFC 6901 JSON Pointer, walked against the
payload so an array index and an object key named "1" are told apart):

* object keys join with ``.``: ``/file/url`` -> ``file.url``;
* array items are ``[N]``: ``/reference_images/1/type`` -> ``reference_images[1].type``;
* a key that is not a plain identifier (``[A-Za-z_][A-Za-z0-9_]*``) is written
  as a JSON string in brackets: ``/file/my key`` -> ``file["my key"]``;
* the whole body (the root pointer ``""``) is ``null``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from avatar_contract.spec import from_pointer

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def param_for(pointer: str, payload: Any) -> str | None:
    try:
        tokens = from_pointer(pointer)
    except ValueError:
        return None
    if not tokens:
        return None
    out = ""
    node: Any = payload
    for token in tokens:
        if isinstance(node, list) and token.isdigit():
            out += f"[{int(token)}]"
            index = int(token)
            node = node[index] if index < len(node) else None
            continue
        if _IDENTIFIER.match(token):
            out += f".{token}" if out else token
        else:
            out += f"[{json.dumps(token, ensure_ascii=False)}]"
        node = node.get(token) if isinstance(node, dict) else None
    return out
