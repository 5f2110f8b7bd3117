"""``avatar-contract spec diff OLD NEW`` and ``spec coverage``.

``diff``: the contract changes between two spec releases.  Exit 0 when
nothing changed, 1 when something did (so CI can gate on a vendor update), 2
on bad input (one line).

``coverage``: every element of the spec with what checks it.  What the suite
covers is the suite's knowledge (``contract_tests``); this package reaches it
through the ``avatar_contract.coverage`` entry point (or, in a checkout never
reinstalled, by importing it by name), so nothing here imports the suite.
Exit 0 when nothing is unprobed, 1 when something is, 2 on bad input or when
the suite is not installed (``pip install 'avatar-contract[suite]'``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from importlib import metadata
from typing import TextIO

from ._cli import EXIT_FINDINGS, EXIT_OK, UsageError
from ._contract import contract_for
from ._linter import Linter
from ._spec_corpus import diff_corpus
from ._spec_diff import diff_contracts
from ._spec_diff_output import render

HELP = ("work with spec releases: 'spec diff OLD NEW' lists the contract changes; "
        "'spec coverage' lists what checks each element of the spec")
DIFF_HELP = (
    "list the contract changes from OLD to NEW: variants, fields, required-ness, constraints, "
    "documented statuses and error codes, the Idempotency-Key schema, advice rules; exit 1 if any"
)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="spec_command", metavar="SUBCOMMAND", parser_class=type(parser))
    diff = sub.add_parser("diff", help=DIFF_HELP, description=DIFF_HELP)
    diff.add_argument("old", metavar="OLD", help="the spec you have (YAML or JSON)")
    diff.add_argument("new", metavar="NEW", help="the spec to compare it with")
    diff.add_argument("--corpus", metavar="DIR|FILE.ndjson",
                      help="also lint these payloads under both specs and list those that change")
    diff.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    coverage = sub.add_parser("coverage", help=COVERAGE_HELP, description=COVERAGE_HELP)
    coverage.add_argument("--spec", metavar="PATH", help="the spec to cover (default: the vendored one)")
    coverage.add_argument("--format", choices=("text", "json", "markdown"), default="text")


COVERAGE_HELP = (
    "list every element of the spec (schema keywords, sentences, statuses, headers, security schemes) "
    "with the probes, clauses and rules that check it, or its waiver; exit 1 if any is unprobed"
)
COVERAGE_GROUP = "avatar_contract.coverage"
COVERAGE_FALLBACK = "avatar_contract.contract_tests.spec_coverage.output"


def _coverage_writer() -> Callable[[str | None, str, TextIO], int]:
    """The suite's coverage writer, found by entry point; never a static import of the suite."""
    try:
        for ep in metadata.entry_points(group=COVERAGE_GROUP):
            if ep.name == "suite":
                found: Callable[[str | None, str, TextIO], int] = ep.load()
                return found
        module = importlib.import_module(COVERAGE_FALLBACK)
    except ModuleNotFoundError as exc:
        raise UsageError(
            f"avatar-contract spec coverage: needs the contract suite ({exc.name or 'a dependency'} is missing); "
            "install it with: pip install 'avatar-contract[suite]'") from None
    writer: Callable[[str | None, str, TextIO], int] = module.write_coverage
    return writer


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "spec_command", None)
    if command == "coverage":
        return _coverage_writer()(args.spec, args.format, sys.stdout)
    if command != "diff":
        raise UsageError("avatar-contract spec: give a subcommand, e.g. 'avatar-contract spec diff OLD NEW' "
                         "or 'avatar-contract spec coverage'")
    old, new = contract_for(args.old), contract_for(args.new)
    changes = diff_contracts(old, new)
    corpus = (diff_corpus(Linter(old.spec), Linter(new.spec), args.corpus)
              if args.corpus is not None else None)
    render(args.format, args.old, args.new, changes, corpus, sys.stdout)
    changed = bool(changes) or bool(corpus is not None and corpus.changed)
    return EXIT_FINDINGS if changed else EXIT_OK
