"""Emulator settings: one frozen value, validated when it is built."""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._clock import Clock
from ._faults import check_fault_names

if TYPE_CHECKING:
    from ._errors import ResponseTransform
    from ._journal import Journal
    from ._schedule import Schedule

DEFAULT_API_KEY = "avatar-contract-dev-key"
"""The development key the emulator accepts when no key is configured."""

DEFAULT_RATE_LIMIT: tuple[int, float] = (100, 10.0)
# Small enough that a bounded burst (the suite spends at most 300 cheap
# requests) provokes a 429, large enough that ordinary use never sees one.

# What a header value can carry unchanged: visible ASCII, no spaces (a Bearer
# token with a space would be split by any client).
_KEY_CHARS = re.compile(r"^[\x21-\x7e]{1,4096}$")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")

DEFAULT_MAX_RECORDS = 200_000
"""Live Idempotency-Key records kept before the oldest completed ones are evicted."""
DEFAULT_OFFLOAD_BYTES = 256 * 1024
"""Bodies at least this large are validated on a worker thread, off the event loop."""
DEFAULT_JOURNAL_LIMIT = 100_000
"""Exchanges a journal records before it stops (grade-client's bound per scenario, --journal's)."""
DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a client has, once its headers are in, to send the whole body."""
DEFAULT_NAMESPACE_IDLE = 86_400.0
"""Seconds a namespace (``/ns/{name}/...``) may go unused before it and its state expire."""


def key_digest(key: str) -> str:
    """SHA-256 of an API key: all a worker needs to recognise it (and name its tenant)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_rate_limit(text: str) -> tuple[int, float] | None:
    """``"100/10"`` -> ``(100, 10.0)``: capacity N refilled every SECONDS; ``"off"`` -> None."""
    if text.strip().lower() in {"off", "none", "0"}:
        return None
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"rate limit {text!r} is not N/SECONDS (e.g. 100/10) or 'off'")
    capacity, per = int(match.group(1)), float(match.group(2))
    _check_rate((capacity, per))
    return capacity, per


def _check_rate(rate: Any) -> tuple[int, float]:
    try:
        capacity, per = rate
    except (TypeError, ValueError):
        raise ValueError(f"rate_limit must be (capacity, per_seconds) or None, not {rate!r}") from None
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"rate limit capacity must be a positive integer, not {capacity!r}")
    if isinstance(per, bool) or not isinstance(per, int | float) or not (0 < per < math.inf):
        raise ValueError(f"rate limit period must be a positive number of seconds, not {per!r}")
    return capacity, float(per)


def store_label(store: str) -> str:
    """The store as it may be shown (banners, reprs, errors): no password, no query string."""
    if "://" not in store:
        return store
    try:
        parts = urlsplit(store)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return store.split("://", 1)[0] + "://..."
    user = f"{parts.username}@" if parts.username else ""
    where = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{user}{where}{f':{port}' if port else ''}{parts.path}"


def _check_store(store: Any) -> str:
    if isinstance(store, str) and (
        store == "memory" or (store.startswith("sqlite:") and store[len("sqlite:"):].strip())
        or (store.startswith(("postgresql://", "postgres://")) and "\n" not in store)
    ):
        return store
    # Never echo a postgresql:// value: it may carry a password.
    shown = store_label(store) if isinstance(store, str) else store
    raise ValueError(f"store must be 'memory', 'sqlite:PATH' or 'postgresql://...', not {shown!r}")


def _non_negative(name: str, value: Any, *, upper: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 <= value <= upper):
        bound = f" and at most {upper:g}" if upper != math.inf else ""
        raise ValueError(f"{name} must be a number >= 0{bound}, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that shapes the emulator's behaviour; every field has a working default.

    ``faults`` names entries of :data:`emulator.FAULTS`.  ``rate_limit`` is a
    token bucket per credential: ``capacity`` requests, refilled evenly over
    ``per_seconds``; ``None`` turns it off.  ``clock`` drives training,
    idempotency expiry and the rate limiter.  ``in_flight_lease`` is how long an
    unfinished request holds its Idempotency-Key before another may take it
    over (a crashed worker must not block a key for 24 hours).
    ``idempotency_max_records`` caps live records (None: no cap); past it the
    oldest completed ones are evicted.  ``offload_bytes``: bodies this large are
    validated on a worker thread.  ``body_timeout``: seconds to receive a body.
    ``api_key_digests`` accepts keys by SHA-256 alone (how worker processes get
    them, so no key is ever in their environment); it adds to ``api_keys``.
    ``namespace_idle_seconds``: a namespace unused this long expires with its state.
    ``validation_spec``: judge request bodies and Idempotency-Keys by this spec
    instead of ``spec`` (which still shapes everything else); with
    ``response_transform`` (in-process only, never sent to workers), called on
    every response as ``(status, headers, parsed body) -> (status, headers,
    body)``, it is how a test builds an emulator that departs from the spec at
    one chosen element (the mechanical mutants).
    ``journal`` records every exchange; ``schedule`` plays a scenario on
    authenticated creates (``grade-client``).  Both live in this process only:
    they never travel to worker processes.
    """

    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    faults: frozenset[str] = frozenset()
    store: str = "memory"
    rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT
    training_seconds: float = 10.0
    failure_rate: float = 0.0
    consent_required: bool = False
    processing_delay: float = 0.005
    idempotency_ttl: float = 86_400.0
    max_body_bytes: int = 16 * 1024 * 1024
    clock: Clock = field(default=time.time, compare=False)
    spec: str | os.PathLike[str] | None = None
    in_flight_lease: float = 60.0
    idempotency_max_records: int | None = DEFAULT_MAX_RECORDS
    offload_bytes: int = DEFAULT_OFFLOAD_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    api_key_digests: tuple[str, ...] = ()
    namespace_idle_seconds: float = DEFAULT_NAMESPACE_IDLE
    validation_spec: str | os.PathLike[str] | None = None
    response_transform: ResponseTransform | None = field(default=None, compare=False)
    journal: Journal | None = field(default=None, compare=False)
    schedule: Schedule | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        keys = (self.api_keys,) if isinstance(self.api_keys, str) else tuple(self.api_keys)
        given = (self.api_key_digests,) if isinstance(self.api_key_digests, str) else tuple(self.api_key_digests)
        if not all(isinstance(d, str) and _DIGEST.match(d) for d in given):
            raise ValueError("api_key_digests must be SHA-256 hex digests (64 lowercase hex digits)")
        if not keys and not given:
            raise ValueError("api_keys needs at least one key")
        for key in keys:
            if not isinstance(key, str) or not _KEY_CHARS.match(key):
                # Never echo the key itself: it may be a real one with a typo.
                raise ValueError("each API key must be 1-4096 visible ASCII characters, no spaces")
        set_ = object.__setattr__
        set_(self, "api_keys", keys)
        set_(self, "api_key_digests", tuple(dict.fromkeys([*map(key_digest, keys), *given])))
        set_(self, "faults", check_fault_names(self.faults))
        set_(self, "store", _check_store(self.store))
        if self.rate_limit is not None:
            set_(self, "rate_limit", _check_rate(self.rate_limit))
        for name in ("training_seconds", "processing_delay", "idempotency_ttl", "in_flight_lease"):
            set_(self, name, _non_negative(name, getattr(self, name)))
        set_(self, "failure_rate", _non_negative("failure_rate", self.failure_rate, upper=1.0))
        set_(self, "body_timeout", _non_negative("body_timeout", self.body_timeout))
        set_(self, "namespace_idle_seconds", _non_negative("namespace_idle_seconds", self.namespace_idle_seconds))
        if self.namespace_idle_seconds <= 0:
            raise ValueError("namespace_idle_seconds must be a number of seconds > 0")
        if self.body_timeout <= 0:
            raise ValueError("body_timeout must be a number of seconds > 0")
        cap = self.idempotency_max_records
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ValueError(f"idempotency_max_records must be a positive integer or None, not {cap!r}")
        offload = self.offload_bytes
        if isinstance(offload, bool) or not isinstance(offload, int) or offload < 0:
            raise ValueError(f"offload_bytes must be an integer >= 0, not {offload!r}")
        if isinstance(self.max_body_bytes, bool) or not isinstance(self.max_body_bytes, int) \
                or self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be a positive integer, not {self.max_body_bytes!r}")
        if not callable(self.clock):
            raise ValueError("clock must be a callable returning seconds")
        if self.response_transform is not None and not callable(self.response_transform):
            raise ValueError("response_transform must be a callable or None")
        set_(self, "consent_required", bool(self.consent_required))

    def has(self, fault: str) -> bool:
        return fault in self.faults

    def __repr__(self) -> str:
        # Keys stay out of reprs, tracebacks and pytest's assertion messages.
        return (
            f"EmulatorConfig(api_keys=<{len(self.api_key_digests)} key(s)>, faults={sorted(self.faults)!r}, "
            f"store={store_label(self.store)!r}, rate_limit={self.rate_limit!r}, "
            f"training_seconds={self.training_seconds!r}, failure_rate={self.failure_rate!r}, "
            f"consent_required={self.consent_required!r})"
        )

    def to_environ(self) -> dict[str, Any]:
        """A JSON-able form for worker processes (the clock is always wall time there).

        Keys travel as SHA-256 digests only: the form ends up in the workers'
        environment (``/proc/PID/environ``), which must never hold a key.
        """
        return {
            "api_key_digests": list(self.api_key_digests),
            "faults": sorted(self.faults),
            "store": self.store,
            "rate_limit": list(self.rate_limit) if self.rate_limit else None,
            "training_seconds": self.training_seconds,
            "failure_rate": self.failure_rate,
            "consent_required": self.consent_required,
            "processing_delay": self.processing_delay,
            "idempotency_ttl": self.idempotency_ttl,
            "max_body_bytes": self.max_body_bytes,
            "spec": os.fspath(self.spec) if self.spec is not None else None,
            "in_flight_lease": self.in_flight_lease,
            "idempotency_max_records": self.idempotency_max_records,
            "offload_bytes": self.offload_bytes,
            "body_timeout": self.body_timeout,
            "namespace_idle_seconds": self.namespace_idle_seconds,
            "validation_spec": os.fspath(self.validation_spec) if self.validation_spec is not None else None,
        }

    @classmethod
    def from_environ(cls, data: dict[str, Any]) -> EmulatorConfig:
        rate = data.get("rate_limit")
        return cls(
            api_keys=(),
            api_key_digests=tuple(data["api_key_digests"]),
            faults=frozenset(data.get("faults") or ()),
            store=data.get("store", "memory"),
            rate_limit=(int(rate[0]), float(rate[1])) if rate else None,
            training_seconds=data.get("training_seconds", 10.0),
            failure_rate=data.get("failure_rate", 0.0),
            consent_required=bool(data.get("consent_required", False)),
            processing_delay=data.get("processing_delay", 0.005),
            idempotency_ttl=data.get("idempotency_ttl", 86_400.0),
            max_body_bytes=data.get("max_body_bytes", 16 * 1024 * 1024),
            spec=data.get("spec"),
            in_flight_lease=data.get("in_flight_lease", 60.0),
            idempotency_max_records=data.get("idempotency_max_records", DEFAULT_MAX_RECORDS),
            offload_bytes=data.get("offload_bytes", DEFAULT_OFFLOAD_BYTES),
            body_timeout=data.get("body_timeout", DEFAULT_BODY_TIMEOUT),
            namespace_idle_seconds=data.get("namespace_idle_seconds", DEFAULT_NAMESPACE_IDLE),
            validation_spec=data.get("validation_spec"),
        )
