"""``avatar-contract``: one console script, subcommands discovered by entry point.

Subcommands live in the packages that own them (``lint`` here, ``emulator``
and ``verify`` in theirs) and register under the ``avatar_contract.commands``
entry-point group, so this module never imports the emulator or the suite.
A subcommand is a module with ``HELP: str``, ``configure(parser)`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import sys
from collections.abc import Sequence
from importlib import metadata
from types import ModuleType

from avatar_contract.spec import SpecError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
GROUP = "avatar_contract.commands"
# The extra (pyproject optional-dependencies) each subcommand needs beyond the
# base install, which is the linter only (what the pre-commit hook installs).
EXTRA_FOR = {"emulator": "emulator", "verify": "suite"}


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2 with a one-line message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


@functools.cache
def _entry_points() -> tuple[metadata.EntryPoint, ...]:
    # Scanning every installed distribution costs ~10 ms; once per process is enough.
    return tuple(metadata.entry_points(group=GROUP))


# This package's own subcommands, found even in a checkout that was never
# installed (or installed before the command was added).
_BUILT_IN = {"lint": "._lint_command", "spec": "._spec_command"}


def _commands() -> dict[str, ModuleType | None]:
    found: dict[str, ModuleType | None] = {}
    for ep in _entry_points():
        found.setdefault(ep.name, None)
    for name in _BUILT_IN:
        found.setdefault(name, None)
    return found


def _load(name: str) -> ModuleType:
    if name in _BUILT_IN:
        return importlib.import_module(_BUILT_IN[name], __package__)
    for ep in _entry_points():
        if ep.name == name:
            module: ModuleType = ep.load()
            return module
    return importlib.import_module(_BUILT_IN[name], __package__)


def _missing_extra(name: str, exc: ModuleNotFoundError) -> str:
    extra = EXTRA_FOR.get(name, "all")
    return (f"avatar-contract {name}: needs the optional dependency {exc.name or 'unknown'!r}; "
            f"install it with: pip install 'avatar-contract[{extra}]'")


class _Version(argparse.Action):
    """``-V``: the installed version, looked up only when asked (the lookup costs start-up time)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``chosen``, only that subcommand's module is imported.

    ``avatar-contract lint`` must start fast, and the emulator and the suite
    pull in starlette, schemathesis and hypothesis (or may not be installed at all).
    """
    parser = _Parser(
        prog="avatar-contract",
        description="Check implementations of POST /v3/avatars against its OpenAPI spec.",
    )
    parser.add_argument("-V", "--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # A built-in command needs no scan of the installed distributions' entry points.
    names = [chosen] if chosen in _BUILT_IN else sorted(_commands())
    for name in names:
        if chosen is not None and name != chosen:
            sub.add_parser(name, add_help=False)  # listed, never loaded
            continue
        try:
            module = _load(name)
        except ModuleNotFoundError as exc:
            if name == chosen:
                raise UsageError(_missing_extra(name, exc)) from None
            sub.add_parser(name, help=f"(needs: pip install 'avatar-contract[{EXTRA_FOR.get(name, 'all')}]')")
            continue
        except Exception as exc:  # a broken plugin must not take the other commands down
            if name == chosen:
                raise UsageError(f"avatar-contract {name}: unavailable: {exc}") from None
            sub.add_parser(name, help=f"(unavailable: {exc})")
            continue
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def _chosen_command(args: Sequence[str]) -> str | None:
    # The subcommand is the first argument (the top level only has -h and -V/--version).
    if args and not args[0].startswith("-") and (args[0] in _BUILT_IN or args[0] in _commands()):
        return args[0]
    return None


def _version() -> str:
    try:
        return metadata.version("avatar-contract")
    except metadata.PackageNotFoundError:
        return "unknown"


def _tolerant_streams() -> None:
    """Never die on output: what the terminal's encoding cannot show is escaped.

    Findings quote payloads (any Unicode) and file names (undecodable bytes
    arrive as lone surrogates), so ``PYTHONIOENCODING=ascii`` or a C locale
    would otherwise turn a finding into a UnicodeEncodeError traceback.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            with contextlib.suppress(ValueError, OSError):  # closed or detached: nothing to protect
                reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    _tolerant_streams()
    try:
        parser = build_parser(_chosen_command(args_list))
        args = parser.parse_args(args_list)
        run = getattr(args, "_run", None)
        if run is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code: int = run(args)
        return code
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SpecError as exc:
        print(f"avatar-contract: spec: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("avatar-contract: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def entry() -> None:  # pragma: no cover - console-script shim
    sys.exit(main())
