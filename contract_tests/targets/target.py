"""Where the suite sends requests, and what it may spend there."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .assets import AssetFixture

Profile = Literal["quick", "default", "thorough"]
PROFILES: tuple[Profile, ...] = ("quick", "default", "thorough")
# Examples per profile: the scale every clause's generated cases derive from.
PROFILE_EXAMPLES: dict[str, int] = {"quick": 10, "default": 30, "thorough": 150}
# A create on the live API costs about $1.  Twenty covers every idempotency and
# auth clause plus a few variants; --max-creates raises it.
DEFAULT_MAX_CREATES = 20
DEFAULT_BURST = 300
# The in-process emulator's keys.  They are ours, not secrets, but are redacted
# like real ones so that every report looks the same.
EMBEDDED_KEY = "avatar-contract-suite-key-1"
EMBEDDED_KEY_2 = "avatar-contract-suite-key-2"
# Where `avatar-contract emulator` listens by default; curl lines for the
# in-process emulator point there so they can be replayed against it.
EMULATOR_DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 30.0  # seconds per request, body included
SEED_ENV = "AVATAR_CONTRACT_SEED"
MAX_SEED = 2**32 - 1  # what hypothesis and random accept as a seed, and what fits in a report
# Headers the suite itself sets (or leaves out on purpose: auth.missing sends no
# key): a --header that set one would change what every clause is judged on.
RESERVED_HEADERS = frozenset({
    "x-api-key", "authorization", "idempotency-key", "content-type", "content-length",
    "host", "transfer-encoding", "connection",
})
# A --header whose name looks like one of these carries a credential: its value
# is redacted like a key (reports, curl lines, echoes).
_SECRET_HEADER = re.compile(r"auth|key|token|secret|passw|cookie|session|signature|credential", re.IGNORECASE)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field-name


@dataclass(frozen=True)
class Target:
    """A system under test.  ``base_url=None`` is the in-process emulator.

    ``faults`` only applies to the in-process emulator (mutation runs).
    ``seed=None`` lets the runner choose one (and print it).
    ``asgi_app`` serves ``base_url`` in-process: any ASGI implementation can
    be checked without a server, and it is treated exactly like a remote
    target (creation-gated, no method probing).
    """

    base_url: str | None = None
    api_key: str | None = None
    second_api_key: str | None = None
    allow_create: bool = False
    max_creates: int = DEFAULT_MAX_CREATES
    # --unexpected-creates: 2xx answers to refusal probes tolerated before the breaker opens
    # (0: the first one opens it).  Only for targets the user knows are free.
    unexpected_creates: int = 0
    burst: int = DEFAULT_BURST
    profile: Profile = "default"
    seed: int | None = None
    faults: frozenset[str] = field(default_factory=frozenset)
    asgi_app: Any = field(default=None, compare=False)
    timeout: float = DEFAULT_TIMEOUT
    headers: tuple[tuple[str, str], ...] = ()  # --header: sent with every request

    @property
    def header_secrets(self) -> tuple[str, ...]:
        """The values of --header entries that carry a credential."""
        return tuple(value for name, value in self.headers if secret_header(name) and value)
    # --asset: real inputs for creates on a real target (in-process, assets are invented).
    assets: AssetFixture | None = None

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    @property
    def may_create(self) -> bool:
        # Creates on a real server are billable; the embedded emulator is free.
        return self.embedded or self.allow_create

    @property
    def probes_methods(self) -> bool:
        # Other methods on /v3/avatars exist on the real API (listing); only the
        # emulator is known to have nothing there.
        return self.embedded

    @property
    def primary_key(self) -> str:
        return self.api_key or (EMBEDDED_KEY if self.embedded else "")

    @property
    def secondary_key(self) -> str | None:
        if self.second_api_key:
            return self.second_api_key
        return EMBEDDED_KEY_2 if self.embedded else None

    @property
    def display_url(self) -> str:
        return self.base_url.rstrip("/") if self.base_url else EMULATOR_DEFAULT_URL

    @property
    def description(self) -> str:
        if self.embedded:
            suffix = f" with faults {', '.join(sorted(self.faults))}" if self.faults else ""
            return f"in-process emulator{suffix}"
        return str(self.base_url)

    def with_seed(self, seed: int) -> Target:
        return replace(self, seed=seed)

    def __repr__(self) -> str:
        # Keys never reach logs, reports or pytest's assertion rewriting.
        return (
            f"Target(base_url={self.base_url!r}, api_key={'***' if self.api_key else None}, "
            f"second_api_key={'***' if self.second_api_key else None}, "
            f"allow_create={self.allow_create}, max_creates={self.max_creates}, "
            f"burst={self.burst}, profile={self.profile!r}, seed={self.seed!r}, "
            f"faults={sorted(self.faults)!r}, timeout={self.timeout!r}, "
            f"headers={[name for name, _ in self.headers]!r}, assets={self.assets!r})"
        )

    __str__ = __repr__


def check_base_url(url: str | None) -> None:
    """Raise ``ValueError`` (one line) unless ``url`` is an http(s) URL with a host."""
    if url is None:
        return
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ValueError(f"base URL {url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base URL {url!r} must be an http:// or https:// URL with a host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError(f"base URL {url!r} has an invalid port {parsed.port}")


# What the in-process emulator takes as a key (EmulatorConfig refuses anything else).
_EMULATOR_KEY = re.compile(r"[!-~]{1,4096}")


def _sendable_key(key: str) -> bool:
    # Visible ASCII, with spaces only inside: what an HTTP header value can carry unchanged.
    return bool(key) and key == key.strip() and all(" " <= c <= "~" for c in key)


def check_keys(target: Target, flags: tuple[str | None, str | None] | None = None) -> None:
    """Raise ``ValueError`` unless every key can be sent as a header (and, in-process,
    be one of the emulator's keys); the key is never shown.  ``flags``: the option
    each key was given with, if it was (else it came from the environment)."""
    given = flags or (None, None)
    for value, flag, env, option in ((target.api_key, given[0], "AVATAR_API_KEY", "--api-key"),
                                     (target.second_api_key, given[1], "AVATAR_API_KEY_2", "--second-api-key")):
        if value is None:
            continue
        source = flag or (env if flags is not None else f"{option} / {env}")
        if not _sendable_key(value):
            raise ValueError(f"the key from {source} must be visible ASCII with no surrounding "
                             "whitespace or control characters (value not shown)")
        if target.embedded and not _EMULATOR_KEY.fullmatch(value):
            raise ValueError(f"the key from {source} has a space or is longer than 4096 characters, which "
                             "the in-process emulator does not accept (value not shown); pass another key, "
                             "or a --base-url")


def from_environment(
    base_url: str | None = None,
    api_key: str | None = None,
    second_api_key: str | None = None,
    **options: object,
) -> Target:
    """Command-line values first, then ``AVATAR_API_*`` environment variables."""
    return Target(
        base_url=(base_url or os.environ.get("AVATAR_API_BASE_URL") or None),
        api_key=api_key or os.environ.get("AVATAR_API_KEY") or None,
        second_api_key=second_api_key or os.environ.get("AVATAR_API_KEY_2") or None,
        **options,  # type: ignore[arg-type]
    )


def secret_header(name: str) -> bool:
    return bool(_SECRET_HEADER.search(name))


def header_variable(name: str) -> str:
    """How a curl line shows a secret --header value: a shell variable the user sets."""
    return "${AVATAR_HEADER_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "}"


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` from ``--header``; raises ``ValueError`` (one line, no secret shown)."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not name:
        raise ValueError(f"--header {name or text!r} must be 'Name: value'")
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"--header name {name!r} is not a valid HTTP header name (letters, digits, -)")
    if name.lower() in RESERVED_HEADERS:
        raise ValueError(f"--header {name} is set by the suite itself; use --api-key / --second-api-key "
                         "for credentials")
    if not all(" " <= c <= "~" or c == "\t" for c in value):
        shown = "value not shown" if secret_header(name) else f"value {value!r}"
        raise ValueError(f"--header {name} must have a visible-ASCII value ({shown})")
    return name, value


def seed_from_environment(given: int | None = None) -> int | None:
    """The seed: ``given`` (--seed / --contract-seed), else ``AVATAR_CONTRACT_SEED``, else None.

    Raises ``ValueError`` (one line) for a value that is not an integer in 0..2**32-1.
    """
    if given is not None:
        if not 0 <= given <= MAX_SEED:
            raise ValueError(f"seed {given} must be between 0 and {MAX_SEED}")
        return given
    text = os.environ.get(SEED_ENV, "").strip()
    if not text:
        return None
    if not re.fullmatch(r"[0-9]+", text) or int(text) > MAX_SEED:
        raise ValueError(f"{SEED_ENV}={text!r} must be an integer between 0 and {MAX_SEED}; "
                         "unset it or give the seed on the command line")
    return int(text)
