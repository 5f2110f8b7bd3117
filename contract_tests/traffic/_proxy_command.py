"""``avatar-contract proxy --upstream URL [--port P]``: a validating reverse proxy on 127.0.0.1.

It forwards every request unchanged and judges each exchange of the create
route as ``check-traffic`` does; the report is written on exit (Ctrl-C,
SIGTERM) and on SIGHUP (a new report directory each time, ``latest`` pointing
at it).  Exit codes: check-traffic's, on the traffic seen (2: usage, or the
port cannot be bound).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import uvicorn

from .._verify_command import EXIT_USAGE, exit_code
from ..reports.files import write_run
from ..reports.report import SuiteReport, render_text
from ..targets.suite_spec import pinned_spec
from ..targets.target import check_base_url
from ._command import unwritable
from .checking import as_report
from .judge import TrafficJudge
from .proxy import DEFAULT_TIMEOUT, ProxyConfig, ProxyState, create_app

HELP = "serve a validating reverse proxy in front of an implementation; judge the traffic that passes"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = ("the report (report.json, report.md, report.html, junit.xml) is written on exit and on SIGHUP\n"
                     "exit: check-traffic's on the traffic seen (0, 1 a clause failed, 3 incomplete); 2 usage error\n"
                     "      or the port cannot be bound")
    parser.add_argument("--upstream", required=True, metavar="URL", help="the implementation's base URL")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (default 8081; 0: any free port)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"bound on each upstream answer: past it the client gets 504 "
                             f"(default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--enforce", action="store_true",
                        help="answer a create that fails the request lint with the documented 400, never forwarding it")
    parser.add_argument("--record", metavar="FILE", help="write every exchange to FILE (NDJSON journal)")
    parser.add_argument("--report-dir", default="reports", metavar="DIR",
                        help="where the reports go (a new timestamped directory each time; default: reports)")


def _err(message: str) -> None:
    print(f"avatar-contract proxy: {message}", file=sys.stderr, flush=True)


class RollingReport:
    """The proxy's report so far, written to a fresh directory under ``root`` when asked."""

    def __init__(self, state: ProxyState, upstream: str, root: Path) -> None:
        self.state, self.upstream, self.root = state, upstream, root
        self.began = time.monotonic()

    def report(self, final: bool) -> SuiteReport:
        return as_report(self.state.judge, [], time.monotonic() - self.began, self.upstream, final=final,
                         subject=f"proxy in front of {self.upstream}", headline=self.state.lines(),
                         secrets=sorted(self.state.secrets))

    def hangup(self) -> None:
        self.write()

    def write(self, final: bool = False) -> SuiteReport:
        report = self.report(final)
        try:
            run_dir, _, _ = write_run(report, self.root, datetime.now(UTC))
            print(f"proxy: report written to {run_dir}/", file=sys.stderr, flush=True)
        except OSError as exc:
            _err(f"cannot write the report to {self.root}: {exc}")
        return report


def _server(config: uvicorn.Config) -> uvicorn.Server:
    class Server(uvicorn.Server):
        """uvicorn's, except that a SIGINT or SIGTERM is not raised again once it has stopped serving:
        the proxy still has its report to write (uvicorn would end the process, or raise KeyboardInterrupt)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server(config)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(args: argparse.Namespace) -> int:
    upstream = args.upstream.rstrip("/")
    try:
        check_base_url(upstream)
    except ValueError as exc:
        _err(f"--upstream: {exc}")
        return EXIT_USAGE
    if not args.timeout > 0:
        _err(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
        return EXIT_USAGE
    root = Path(args.report_dir)
    if problem := unwritable(root):
        _err(problem)
        return EXIT_USAGE
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        _err(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; pass another --port")
        return EXIT_USAGE
    with contextlib.ExitStack() as stack:
        journal: IO[bytes] | None = None
        if args.record:
            try:
                journal = stack.enter_context(open(args.record, "wb"))
            except OSError as exc:
                _err(f"--record {args.record}: {exc.strerror or exc}")
                return EXIT_USAGE
        stack.enter_context(pinned_spec())
        state = ProxyState(TrafficJudge())
        rolling = RollingReport(state, upstream, root)
        config = ProxyConfig(upstream, timeout=args.timeout, enforce=args.enforce, record=journal,
                             on_hangup=rolling.hangup)
        port = sock.getsockname()[1]
        print(f"proxy: http://{args.host}:{port} -> {upstream}; judging {state.judge.method} {state.judge.route}"
              f"{' (--enforce)' if args.enforce else ''}; report on exit and on SIGHUP (pid {os.getpid()})",
              flush=True)
        # No Server or Date header of the proxy's own: the upstream's pass through unchanged.  X-Forwarded-For
        # is the client's to send upstream, not uvicorn's to believe (it would rewrite the recorded peer).
        server = _server(uvicorn.Config(create_app(config, state), log_level="warning", access_log=False,
                                        lifespan="on", server_header=False, date_header=False,
                                        proxy_headers=False))
        # What is alive now (the imports, the spec, the compiled validators: ~66,000 objects) lives as long
        # as the process; frozen, a full collection no longer walks it (~20 ms each, a stall of every
        # request in flight) and only walks what judging keeps.
        gc.collect()
        gc.freeze()
        server.run(sockets=[sock])
        report = rolling.write(final=True)
    print(render_text(report))
    return exit_code(report)
