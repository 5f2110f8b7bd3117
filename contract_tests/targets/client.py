"""The HTTP client a run talks to its target through: the in-process emulator, an ASGI app, or a URL.

Apart from the runner because how a target is reached is independent of what is
run against it: the emulator gets a fresh app per client (its own store and
rate-limit buckets), which is what makes clauses independent, and the burst's
app stands still in time so a bounded burst reaches its 429 on any machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx

from .suite_spec import spec_path
from .target import Target

EMBEDDED_BASE = "http://emulator.invalid"


def _timeout(target: Target) -> httpx.Timeout:
    # httpx bounds each read; Session bounds the whole request with target.timeout.
    return httpx.Timeout(target.timeout, connect=min(10.0, target.timeout))


def _embedded_app(target: Target, burst: bool) -> object:
    from avatar_contract.emulator import DEFAULT_RATE_LIMIT, EmulatorConfig, ManualClock, create_app

    config = EmulatorConfig(
        api_keys=tuple(k for k in (target.primary_key, target.secondary_key) if k),
        faults=target.faults,
        # Ordinary clauses get no limiter (fast, no waits); the burst gets the
        # emulator's default, which a bounded burst must be able to reach.
        rate_limit=DEFAULT_RATE_LIMIT if burst else None,
        spec=spec_path(),
    )
    if burst:
        # The burst's app stands still in time, so its bucket never refills and
        # request capacity+1 is a 429 however slowly a loaded machine sends.
        config = replace(config, clock=ManualClock())
    return create_app(config)


@asynccontextmanager
async def open_client(target: Target, burst: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    if target.embedded:
        transport = httpx.ASGITransport(app=_embedded_app(target, burst), raise_app_exceptions=False)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=EMBEDDED_BASE, timeout=_timeout(target),
                                     headers=list(target.headers)) as client:
            yield client
    elif target.asgi_app is not None:
        app_transport = httpx.ASGITransport(app=target.asgi_app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=app_transport, base_url=str(target.base_url),
                                     timeout=_timeout(target), headers=list(target.headers)) as client:
            yield client
    else:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
        async with httpx.AsyncClient(base_url=str(target.base_url), timeout=_timeout(target), limits=limits,
                                     headers=list(target.headers)) as client:
            yield client
