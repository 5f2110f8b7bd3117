# Types of the optional C extension built from _native.c.
from typing import Any

MAX_DEPTH: int
MAX_ANY: int

class Program:
    def __init__(self, nodes: tuple[Any, ...], branches: tuple[Any, ...], unions: tuple[Any, ...],
                 root_union: bool, root: int) -> None: ...
    def run(self, value: Any, /) -> Any: ...
