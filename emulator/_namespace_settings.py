"""Settings per namespace: ``PUT /ns/{name}`` adds faults to the emulator's own in one namespace.

The settings are a row in the store (in process for the memory store), so every
replica behind a load balancer reads the same ones: each request in a namespace
reads its row (one indexed read) before it is served, so a ``PUT`` answered by
one replica holds on the very next request whichever replica answers it.
A namespace's faults are added to the emulator's global ones (``--fault``),
never subtracted: a fault switched on for the whole emulator is on everywhere.
Requests outside namespaces and the admin routes (``PUT``/``GET``/``DELETE
/ns/{name}``) always run under the global faults.  ``DELETE /ns/{name}`` and
idle expiry drop the settings with the rest of the namespace.

What a fault set changes (the responder, the authenticator, the body checker)
is built once per set and chosen for the request through :data:`ACTIVE`, set
around the handler and reset after it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from avatar_contract.validators import Linter

from ._auth import Authenticator
from ._config import EmulatorConfig
from ._errors import INVALID_PARAMETER, Responder
from ._faults import FAULTS
from ._json import NotJSON, loads
from ._schedule import SCENARIOS, Schedule
from ._validation import BodyChecker

if TYPE_CHECKING:
    from ._emulator import Emulator

Endpoint = Callable[[Request], Awaitable[Response]]
FIELDS = ("faults", "scenario")
SETTINGS_SCOPE_KEY = "avatar_contract.namespace_settings"
_CACHED_SETS = 64  # distinct fault sets kept built; more are rebuilt (cheap) rather than grown


class Faulted:
    """The parts of the emulator a fault set changes, built for one set."""

    def __init__(self, config: EmulatorConfig, linter: Linter, faults: frozenset[str]) -> None:
        self.faults = faults
        self.responder = Responder(faults, config.response_transform)
        self.auth = Authenticator(config, faults)
        self.checker = BodyChecker(linter, faults)

    def has(self, fault: str) -> bool:
        return fault in self.faults


ACTIVE: ContextVar[Faulted | None] = ContextVar("avatar_contract_emulator_faulted", default=None)
"""The fault set of the request being served in a namespace; None: the global one."""


class FaultSets:
    """The global fault set, and each namespace's (global plus its own), built on first use."""

    def __init__(self, config: EmulatorConfig, linter: Linter) -> None:
        self._config = config
        self._linter = linter
        self.base = Faulted(config, linter, config.faults)
        self._built: dict[frozenset[str], Faulted] = {config.faults: self.base}

    @property
    def current(self) -> Faulted:
        return ACTIVE.get() or self.base

    def with_extra(self, extra: frozenset[str]) -> Faulted:
        faults = self._config.faults | extra
        found = self._built.get(faults)
        if found is None:
            found = Faulted(self._config, self._linter, faults)
            if len(self._built) < _CACHED_SETS:
                self._built[faults] = found
        return found


@dataclass(frozen=True, slots=True)
class Settings:
    """What ``PUT /ns/{name}`` sets: the faults this namespace adds, and the scenario its creates play
    (``played``: when it was set, so that every replica starts counting attempts afresh)."""

    faults: frozenset[str] = frozenset()
    scenario: str | None = None
    played: float = 0.0

    def to_json(self) -> str:
        return json.dumps({"faults": sorted(self.faults), "scenario": self.scenario, "played": self.played})

    @classmethod
    def from_store(cls, text: str | None) -> Settings:
        """The stored settings; a fault this replica does not know (a newer one wrote it) is skipped."""
        if not text:
            return cls()
        value = json.loads(text)
        scenario = value.get("scenario")
        return cls(frozenset(name for name in value.get("faults", ()) if name in FAULTS),
                   scenario if scenario in SCENARIOS else None, float(value.get("played", 0.0)))

    def view(self, name: str, global_faults: frozenset[str]) -> dict[str, Any]:
        return {"data": {"namespace": name, "faults": sorted(self.faults),
                         "effective_faults": sorted(self.faults | global_faults), "scenario": self.scenario}}


class SettingsProblem(ValueError):
    """Why a ``PUT /ns/{name}`` body is refused; ``param`` names the field."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


def parse_settings(raw: bytes) -> Settings:
    """The settings a ``PUT /ns/{name}`` body asks for; :class:`SettingsProblem` when it is not valid."""
    try:
        value = loads(raw) if raw.strip() else None
    except NotJSON as exc:
        raise SettingsProblem(str(exc), None) from None
    if not isinstance(value, dict):
        raise SettingsProblem('the body must be a JSON object such as {"faults": ["idempotency_ignored"]}', None)
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise SettingsProblem(f"unknown field {unknown[0]!r}; a namespace's settings have: {', '.join(FIELDS)}",
                              unknown[0])
    faults = value.get("faults", [])
    if not isinstance(faults, list) or not all(isinstance(f, str) for f in faults):
        raise SettingsProblem("faults must be an array of fault names", "faults")
    bad = sorted({f for f in faults if f not in FAULTS})
    if bad:
        raise SettingsProblem(f"unknown fault{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))}; "
                              f"valid faults: {', '.join(FAULTS)}", "faults")
    scenario = value.get("scenario")
    if scenario is not None and scenario not in SCENARIOS:
        raise SettingsProblem(f"unknown scenario {scenario!r}; valid scenarios: {', '.join(SCENARIOS)}, or null",
                              "scenario")
    return Settings(frozenset(faults), scenario)


def in_namespace(settings_of: Callable[[str], Awaitable[Settings | None]], sets: FaultSets,
                 endpoint: Endpoint) -> Endpoint:
    """``endpoint`` served under its namespace's faults (``settings_of`` reads them; None: a bad name,
    which the endpoint itself refuses)."""
    async def call(request: Request) -> Response:
        kept = request.scope.get(SETTINGS_SCOPE_KEY)  # read already for the create's scenario
        settings = kept if isinstance(kept, Settings) else await settings_of(request.path_params["ns"])
        if settings is None or not settings.faults:
            return await endpoint(request)
        token = ACTIVE.set(sets.with_extra(settings.faults))
        try:
            return await endpoint(request)
        finally:
            ACTIVE.reset(token)
    return call


class NamespaceAdmin:
    """``PUT``, ``GET`` and ``DELETE /ns/{name}``: any configured API key (as for the API itself), under
    the global faults; neither counts as use of the namespace's API nor is rate-limited."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator

    def routed(self, endpoint: Endpoint) -> Endpoint:
        """An API endpoint in namespace ``{ns}``, served under that namespace's faults."""
        return in_namespace(self._emulator.namespace_settings, self._emulator.fault_sets, endpoint)

    async def _space(self, request: Request) -> str | Response:
        """The namespace an admin request names, or its refusal (a bad name, no valid API key)."""
        refused = await self._emulator.admitted(request)
        return refused if refused is not None else str(request.path_params["ns"])

    async def put(self, request: Request) -> Response:
        emulator, space = self._emulator, await self._space(request)
        if isinstance(space, Response):
            return space
        try:
            raw = await emulator.read_body(request)
            if raw is None:
                raise SettingsProblem(f"the request body is larger than {emulator.config.max_body_bytes} bytes", None)
            settings = parse_settings(raw)
        except (ClientDisconnect, TimeoutError):
            return emulator.responder.error(400, INVALID_PARAMETER, "the request body did not arrive in full")
        except SettingsProblem as exc:
            return emulator.responder.error(400, INVALID_PARAMETER, str(exc), exc.param)
        now = emulator.config.clock()
        settings = replace(settings, played=now)
        await emulator.call(emulator.store.set_namespace_settings, space, settings.to_json(), now)
        return emulator.responder.json(200, settings.view(space, emulator.config.faults))

    async def get(self, request: Request) -> Response:
        emulator, space = self._emulator, await self._space(request)
        if isinstance(space, Response):
            return space
        settings = await emulator.namespace_settings(space) or Settings()
        return emulator.responder.json(200, settings.view(space, emulator.config.faults))

    async def delete(self, request: Request) -> Response:
        emulator, space = self._emulator, await self._space(request)
        if isinstance(space, Response):
            return space
        if not await emulator.call(emulator.namespaces.drop, space):
            return emulator.responder.error(404, "not_found", f"no namespace {space!r}", "namespace")
        return Response(status_code=204)


class NamespaceSchedules:
    """The scenario each namespace plays on its creates (``grade-client``'s, per namespace).

    Which scenario comes from the store, so every replica plays the same one; the attempts of
    each intent are counted in this process (a Schedule), started afresh when the scenario is set
    again.  Behind a load balancer a scenario that counts attempts ("the first attempt of each
    intent...") therefore counts them per replica; those that do not (``persistent-503``,
    ``throttled-long``, ``unauthorized``) are the same everywhere."""

    def __init__(self, scale: float = 1.0) -> None:
        self._scale = scale
        self._playing: dict[str, tuple[float, Schedule]] = {}

    def schedule(self, name: str, settings: Settings) -> Schedule | None:
        if settings.scenario is None:
            self._playing.pop(name, None)
            return None
        found = self._playing.get(name)
        if found is None or found[0] != settings.played or found[1].scenario != settings.scenario:
            found = settings.played, Schedule(settings.scenario, self._scale)
            self._playing[name] = found
        return found[1]
