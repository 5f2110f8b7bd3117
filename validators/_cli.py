"""``avatar-contract``: one console script, subcommands discovered by entry point.

Subcommands live in the packages that own them (``lint`` here, ``emulator``
and ``verify`` in theirs) and register under the ``avatar_contract.commands``
entry-point group, so this module never imports the emulator or the suite.
A subcommand is a module with ``HELP: str``, ``configure(parser)`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib import metadata
from types import ModuleType

from avatar_contract.spec import SpecError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
GROUP = "avatar_contract.commands"


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2 with a one-line message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


# This package's own subcommands, found even in a checkout that was never
# installed (or installed before the command was added).
_BUILT_IN = {"lint": "._lint_command", "spec": "._spec_command"}


def _commands() -> dict[str, ModuleType | None]:
    found: dict[str, ModuleType | None] = {}
    for ep in metadata.entry_points(group=GROUP):
        found.setdefault(ep.name, None)
    for name in _BUILT_IN:
        found.setdefault(name, None)
    return found


def _load(name: str) -> ModuleType:
    for ep in metadata.entry_points(group=GROUP):
        if ep.name == name:
            module: ModuleType = ep.load()
            return module
    return importlib.import_module(_BUILT_IN[name], __package__)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="avatar-contract",
        description="Check implementations of POST /v3/avatars against its OpenAPI spec.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in sorted(_commands()):
        try:
            module = _load(name)
        except Exception as exc:  # a broken plugin must not take the other commands down
            sub.add_parser(name, help=f"(unavailable: {exc})")
            continue
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def _version() -> str:
    try:
        return metadata.version("avatar-contract")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
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
