"""The default store: dictionaries, gone when the process ends."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ._namespaces import SEPARATOR
from ._records import Claim, Completion, Fresh, Group, InFlight, Look, Render, Replay, StoredResponse

_PURGE_EVERY = 4096


@dataclass(slots=True)
class _Entry:
    fingerprint: str
    expires_at: float
    token: str | None = None
    lease_until: float = 0.0
    response: StoredResponse | None = None


class MemoryStore:
    blocking = False

    def __init__(self, max_records: int | None = None) -> None:
        # A lock although the event loop is single-threaded: tests inspect the
        # store from another thread while starlette's TestClient serves requests
        # (and large bodies are validated on worker threads).
        self._lock = threading.Lock()
        self._records: dict[str, _Entry] = {}
        # Completed scopes, oldest completion first: the eviction order under max_records.
        self._completed: OrderedDict[str, None] = OrderedDict()
        self._max_records = max_records
        self._groups: dict[tuple[str, str], Group] = {}
        self._group_sizes: dict[tuple[str, str], int] = {}
        self._looks: dict[tuple[str, str], Look] = {}
        self._namespaces: dict[str, float] = {}  # name -> last used
        self._settings: dict[str, str] = {}  # name -> its settings (PUT /ns/{name})
        self._claims = 0

    # -- idempotency --------------------------------------------------------
    def _live(self, scope: str, now: float) -> _Entry | None:
        entry = self._records.get(scope)
        if entry is None or entry.expires_at <= now:
            return None
        if entry.response is None and entry.lease_until <= now:
            return None  # abandoned by a request that never finished
        return entry

    def claim(self, scope: str, fingerprint: str, now: float, ttl: float, lease: float) -> Claim:
        with self._lock:
            self._claims += 1
            if self._claims % _PURGE_EVERY == 0:
                self._purge(now)
            entry = self._live(scope, now)
            if entry is not None:
                if entry.response is None:
                    return InFlight()
                return Replay(entry.response, entry.fingerprint == fingerprint)
            token = secrets.token_hex(8)
            self._forget(scope)
            self._records[scope] = _Entry(fingerprint, now + ttl, token, now + lease)
            self._evict()
            return Fresh(token)

    def _forget(self, scope: str) -> None:
        self._records.pop(scope, None)
        self._completed.pop(scope, None)

    def _evict(self) -> None:
        # In-flight records are never evicted: that would let a concurrent
        # retry create a second avatar.  They are bounded by the connection cap.
        if self._max_records is None:
            return
        while len(self._records) > self._max_records and self._completed:
            scope, _ = self._completed.popitem(last=False)
            del self._records[scope]

    def _finish(self, scope: str, entry: _Entry) -> None:
        self._completed.pop(scope, None)
        self._records[scope] = entry
        self._completed[scope] = None
        self._evict()

    def peek(self, scope: str, fingerprint: str, now: float) -> Replay | None:
        with self._lock:
            entry = self._live(scope, now)
            if entry is None or entry.response is None:
                return None
            return Replay(entry.response, entry.fingerprint == fingerprint)

    def complete(self, scope: str, token: str | None, fingerprint: str,
                 response: StoredResponse, now: float, ttl: float) -> None:
        with self._lock:
            entry = self._records.get(scope)
            if token is not None and (entry is None or entry.token != token):
                return  # our lease expired and someone else took the key over
            expires = entry.expires_at if entry is not None and token is not None else now + ttl
            self._finish(scope, _Entry(fingerprint, expires, None, 0.0, response))

    def release(self, scope: str, token: str) -> None:
        with self._lock:
            entry = self._records.get(scope)
            if entry is not None and entry.token == token and entry.response is None:
                self._forget(scope)

    def _purge(self, now: float) -> None:
        dead = [s for s, e in self._records.items()
                if e.expires_at <= now or (e.response is None and e.lease_until <= now)]
        for scope in dead:
            self._forget(scope)

    def idempotency_records(self) -> int:
        with self._lock:
            return len(self._records)

    # -- avatars ------------------------------------------------------------
    def create(self, look: Look, group: Group, render: Render,
               completion: Completion | None = None) -> StoredResponse | None:
        key = (group.tenant, group.id)
        with self._lock:
            entry = self._records.get(completion.scope) if completion is not None else None
            if completion is not None and (entry is None or entry.token != completion.token
                                           or entry.response is not None):
                return None  # the key was taken over: the new owner creates, not us
            stored = self._groups.get(key, group)
            size = self._group_sizes.get(key, 0) + 1
            response = render(stored, size)  # first, so a failure leaves nothing half-made
            self._groups[key] = stored
            self._group_sizes[key] = size
            self._looks[(look.tenant, look.id)] = look
            if completion is not None and entry is not None:
                self._finish(completion.scope, _Entry(entry.fingerprint, entry.expires_at, None, 0.0, response))
            return response

    def group(self, tenant: str, group_id: str) -> tuple[Group, int] | None:
        with self._lock:
            found = self._groups.get((tenant, group_id))
            return None if found is None else (found, self._group_sizes[(tenant, group_id)])

    def look(self, tenant: str, look_id: str) -> Look | None:
        with self._lock:
            return self._looks.get((tenant, look_id))

    def looks(self) -> list[Look]:
        with self._lock:
            return list(self._looks.values())

    def created_count(self) -> int:
        with self._lock:
            return len(self._looks)

    # -- namespaces -----------------------------------------------------------
    def touch_namespace(self, name: str, now: float) -> None:
        with self._lock:
            self._namespaces[name] = now

    def idle_namespaces(self, before: float) -> list[str]:
        with self._lock:
            return [name for name, used in self._namespaces.items() if used < before]

    def namespace_settings(self, name: str) -> str | None:
        return self._settings.get(name)

    def set_namespace_settings(self, name: str, settings: str, now: float) -> None:
        with self._lock:
            self._settings[name] = settings
            self._namespaces[name] = max(now, self._namespaces.get(name, now))

    def drop_namespace(self, name: str) -> bool:
        prefix = f"{name}{SEPARATOR}"
        with self._lock:
            existed = self._namespaces.pop(name, None) is not None
            existed = self._settings.pop(name, None) is not None or existed
            for scope in [s for s in self._records if s.startswith(prefix)]:
                self._forget(scope)
                existed = True
            for table in (self._groups, self._group_sizes, self._looks):
                for key in [k for k in table if k[0].startswith(prefix)]:
                    del table[key]
                    existed = True
            return existed

    def close(self) -> None:
        pass
