"""``avatar-contract spec diff OLD NEW``: the contract changes between two spec releases.

Exit 0 when nothing changed, 1 when something did (so CI can gate on a
vendor update), 2 on bad input (one line).
"""

from __future__ import annotations

import argparse
import sys

from ._cli import EXIT_FINDINGS, EXIT_OK, UsageError
from ._contract import contract_for
from ._linter import Linter
from ._spec_corpus import diff_corpus
from ._spec_diff import diff_contracts
from ._spec_diff_output import render

HELP = "work with spec releases: 'spec diff OLD NEW' lists the contract changes"
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


def run(args: argparse.Namespace) -> int:
    if getattr(args, "spec_command", None) != "diff":
        raise UsageError("avatar-contract spec: give a subcommand, e.g. 'avatar-contract spec diff OLD NEW'")
    old, new = contract_for(args.old), contract_for(args.new)
    changes = diff_contracts(old, new)
    corpus = (diff_corpus(Linter(old.spec), Linter(new.spec), args.corpus)
              if args.corpus is not None else None)
    render(args.format, args.old, args.new, changes, corpus, sys.stdout)
    changed = bool(changes) or bool(corpus is not None and corpus.changed)
    return EXIT_FINDINGS if changed else EXIT_OK
