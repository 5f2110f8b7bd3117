"""A stateful local implementation of Create Avatar (POST /v3/avatars), with switchable faults.

    >>> from avatar_contract.emulator import create_app, EmulatorConfig
    >>> app = create_app(EmulatorConfig(api_keys=("key-a", "key-b"), faults={"auth_skipped"}))

Serve it with ``avatar-contract emulator`` (uvicorn), or call it in-process
through ``httpx.ASGITransport`` or starlette's ``TestClient``.
"""

from ._app import create_app
from ._clock import Clock, ManualClock
from ._config import DEFAULT_API_KEY, DEFAULT_RATE_LIMIT, EmulatorConfig, parse_rate_limit
from ._emulator import Emulator
from ._faults import FAULTS, Fault
from ._records import Group, Look

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_RATE_LIMIT",
    "FAULTS",
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "Group",
    "Look",
    "ManualClock",
    "create_app",
    "parse_rate_limit",
]
