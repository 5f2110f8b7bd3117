"""``avatar-contract emulator``: serve the emulator over HTTP with uvicorn."""

from __future__ import annotations

import argparse
import dataclasses
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ._config import (
    DEFAULT_API_KEY,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_JOURNAL_LIMIT,
    DEFAULT_MAX_RECORDS,
    DEFAULT_NAMESPACE_IDLE,
    DEFAULT_RATE_LIMIT,
    EmulatorConfig,
    parse_rate_limit,
    store_label,
)
from ._faults import FAULTS
from ._records import StoreError

# Kept here rather than imported from ._protocol, which imports uvicorn (slow to load).
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE = 5.0

HELP = "serve a stateful Create Avatar emulator (with switchable faults) on HTTP"
T = TypeVar("T")
EXIT_OK, EXIT_USAGE = 0, 2


class _Usage(Exception):
    pass


def _typed(kind: Callable[[str], T], what: str, check: Callable[[T], bool] = lambda _: True,
           ) -> Callable[[str], T]:
    def convert(text: str) -> T:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value
    return convert


def _rate(text: str) -> tuple[int, float] | None:
    try:
        return parse_rate_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_seconds = _typed(float, "a number of seconds >= 0", lambda v: 0 <= v < float("inf"))
_positive = _typed(float, "a number of seconds > 0", lambda v: 0 < v < float("inf"))


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_typed(int, "a port (0-65535)", lambda v: 0 <= v <= 65535),
                        default=8080, help="TCP port (default 8080)")
    parser.add_argument("--api-key", action="append", metavar="KEY", dest="api_keys",
                        help="accept this key (repeat for more tenants); default: a printed "
                             "development key")
    parser.add_argument("--fault", action="append", metavar="NAME", dest="faults", default=[],
                        help="switch a fault on (repeatable; see --list-faults)")
    parser.add_argument("--list-faults", action="store_true", help="print the fault catalogue and exit")
    parser.add_argument("--store", default="memory", metavar="memory|sqlite:PATH|postgresql://...",
                        help="where avatars and idempotency records live (default memory); "
                             "postgresql:// is shared by every replica pointed at it")
    parser.add_argument("--rate-limit", type=_rate, default=DEFAULT_RATE_LIMIT, metavar="N/SECONDS",
                        help=f"token bucket per API key, or 'off' (default "
                             f"{DEFAULT_RATE_LIMIT[0]}/{DEFAULT_RATE_LIMIT[1]:g})")
    parser.add_argument("--training-seconds", type=_seconds, default=10.0, metavar="S",
                        help="time from processing to completed (default 10)")
    parser.add_argument("--failure-rate", type=_typed(float, "a share between 0 and 1",
                                                      lambda v: 0 <= v <= 1),
                        default=0.0, metavar="SHARE", help="share of trainings that fail (default 0)")
    parser.add_argument("--consent-required", action="store_true",
                        help="digital twins pass through pending_consent")
    parser.add_argument("--processing-delay", type=_seconds, default=0.005, metavar="S",
                        help="time a create spends in flight (default 0.005)")
    parser.add_argument("--idempotency-ttl", type=_seconds, default=86_400.0, metavar="S",
                        help="how long Idempotency-Key records replay (default 86400)")
    parser.add_argument("--max-body-bytes", type=_typed(int, "a positive byte count", lambda v: v > 0),
                        default=16 * 1024 * 1024, metavar="N", help="largest accepted body (default 16 MiB)")
    parser.add_argument("--in-flight-lease", type=_seconds, default=60.0, metavar="S",
                        help="how long an unfinished request holds its Idempotency-Key before a retry "
                             "may take it over (default 60)")
    parser.add_argument("--idempotency-max-records", type=_typed(int, "a positive record count", lambda v: v > 0),
                        default=DEFAULT_MAX_RECORDS, metavar="N",
                        help=f"live Idempotency-Key records kept; past it the oldest completed ones are "
                             f"evicted (default {DEFAULT_MAX_RECORDS:,})")
    parser.add_argument("--namespace-idle", type=_positive, default=DEFAULT_NAMESPACE_IDLE, metavar="S",
                        help=f"a namespace (/ns/NAME/v3/avatars) unused for S seconds expires with its "
                             f"state (default {DEFAULT_NAMESPACE_IDLE:g})")
    parser.add_argument("--timeout-keep-alive", type=_positive, default=DEFAULT_KEEP_ALIVE, metavar="S",
                        help=f"close idle keep-alive connections after S seconds (default {DEFAULT_KEEP_ALIVE:g})")
    parser.add_argument("--header-timeout", type=_positive, default=DEFAULT_HEADER_TIMEOUT, metavar="S",
                        help=f"close a connection whose request head is not complete within S seconds "
                             f"(default {DEFAULT_HEADER_TIMEOUT:g})")
    parser.add_argument("--body-timeout", type=_positive, default=DEFAULT_BODY_TIMEOUT, metavar="S",
                        help=f"answer 400 and close if the body is not received within S seconds "
                             f"(default {DEFAULT_BODY_TIMEOUT:g})")
    parser.add_argument("--limit-concurrency", type=_typed(int, "a connection count >= 1", lambda v: v >= 1),
                        default=None, metavar="N",
                        help="connections served at once per worker; uvicorn answers 503 beyond it "
                             "(default 1000, or less under a low 'ulimit -n')")
    parser.add_argument("--spec", metavar="PATH", help="serve another spec instead of the vendored one")
    parser.add_argument("--journal", metavar="FILE",
                        help="record every exchange to FILE as NDJSON (validators.journal; no credential is "
                             "written, only a tenant hash); one worker only")
    parser.add_argument("--journal-limit", type=_typed(int, "a positive exchange count", lambda v: v > 0),
                        default=DEFAULT_JOURNAL_LIMIT, metavar="N",
                        help=f"stop recording after N exchanges (default {DEFAULT_JOURNAL_LIMIT})")
    parser.add_argument("--workers", type=_typed(int, "a worker count >= 1", lambda v: v >= 1),
                        default=1, help="uvicorn worker processes (more than 1 needs --store sqlite:PATH)")
    parser.add_argument("--log-level", choices=("critical", "error", "warning", "info", "debug"),
                        default="info")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false",
                        help="do not log one line per request")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                        help="uvicorn event loop (auto: uvloop when installed)")
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                        help="uvicorn HTTP parser (auto: httptools when installed)")


def list_faults() -> str:
    width = max(len(name) for name in FAULTS)
    clause_width = max(len(f.clause) for f in FAULTS.values())
    return "\n".join(f"{f.name:<{width}}  {f.clause:<{clause_width}}  {f.description}"
                     for f in FAULTS.values())


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    try:
        return EmulatorConfig(
            api_keys=tuple(args.api_keys or (DEFAULT_API_KEY,)),
            faults=frozenset(args.faults),
            store=args.store,
            rate_limit=args.rate_limit,
            training_seconds=args.training_seconds,
            failure_rate=args.failure_rate,
            consent_required=args.consent_required,
            processing_delay=args.processing_delay,
            idempotency_ttl=args.idempotency_ttl,
            max_body_bytes=args.max_body_bytes,
            spec=args.spec,
            in_flight_lease=args.in_flight_lease,
            idempotency_max_records=args.idempotency_max_records,
            body_timeout=args.body_timeout,
            namespace_idle_seconds=args.namespace_idle,
        )
    except ValueError as exc:
        raise _Usage(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    if args.list_faults:
        print(list_faults())
        return EXIT_OK
    try:
        config = build_config(args)
        if args.workers > 1 and config.store == "memory":
            raise _Usage("--workers above 1 needs --store sqlite:PATH or postgresql://... "
                         "(workers share nothing in memory)")
        from ._app import create_app

        create_app(config).state.emulator.close()  # fail here, not in a worker: bad spec, bad DB path
        config = _with_journal(args, config)
    except _Usage as exc:
        print(f"avatar-contract emulator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, sqlite3.Error, StoreError) as exc:
        print(f"avatar-contract emulator: cannot open the store: {exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = _bind_problem(args.host, args.port)
    if problem:
        print(f"avatar-contract emulator: cannot listen on {args.host}:{args.port}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    _banner(args, config)
    from ._serve import serve

    try:
        serve(config, host=args.host, port=args.port, workers=args.workers,
              log_level=args.log_level, access_log=args.access_log, loop=args.loop, http=args.http,
              timeout_keep_alive=args.timeout_keep_alive, header_timeout=args.header_timeout,
              limit_concurrency=args.limit_concurrency)
    except SystemExit as exc:  # uvicorn exits when it cannot bind (a port taken since the check)
        return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
    finally:
        if config.journal is not None:
            config.journal.end()
    return EXIT_OK


def _with_journal(args: argparse.Namespace, config: EmulatorConfig) -> EmulatorConfig:
    """The config with its journal open on ``--journal FILE`` (OSError: one line, exit 2)."""
    if not args.journal:
        return config
    if args.workers > 1:
        raise _Usage("--journal records one process's exchanges; use --workers 1")
    from ._journal import Journal

    journal = Journal(args.journal_limit)
    try:
        journal.begin(Path(args.journal))
    except OSError as exc:
        raise _Usage(f"cannot write the journal {args.journal}: {exc.strerror or exc}") from None
    return dataclasses.replace(config, journal=journal)


def _bind_problem(host: str, port: int) -> str | None:
    """Why the address cannot be served, checked before uvicorn prints its own log lines."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return str(exc.strerror or exc)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return str(exc.strerror or exc)
    return None


def _banner(args: argparse.Namespace, config: EmulatorConfig) -> None:
    out = sys.stderr
    if not args.api_keys:
        print(f"avatar-contract emulator: no --api-key given; accepting the development key "
              f"{DEFAULT_API_KEY}", file=out)
    rate = (f"{config.rate_limit[0]}/{config.rate_limit[1]:g}s per key" if config.rate_limit
            else "off")
    print(f"avatar-contract emulator: http://{args.host}:{args.port}/v3/avatars  "
          f"keys={len(config.api_key_digests)} store={store_label(config.store)} rate-limit={rate} "
          f"faults={','.join(sorted(config.faults)) or 'none'}", file=out)
