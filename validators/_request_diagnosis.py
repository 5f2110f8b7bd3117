"""Where an invalid request body is wrong: a diagnoser per branch and per union of the discriminator tree.

Apart from the request plan because only invalid bodies come here: the plan's
verdict paths never touch it, and each diagnoser is compiled on first use, so
a process that only sees valid bodies never pays for it.  Each error is
reported at its own path: the union's site (missing or unknown discriminator)
or the branch's generated diagnoser (:mod:`._diagnoser`), with jsonschema-rs
describing what that declines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avatar_contract.spec import from_pointer

from ._advice import token, walker
from ._compiled import Branch, Union, is_union
from ._contract import Contract
from ._diagnoser import GeneratedDiagnoser, generated_diagnoser
from ._error_sites import BAD_VALUE, MISSING, NOT_OBJECT, UnionSite
from ._evaluated import converter
from ._finding import Finding
from ._schema_errors import findings as schema_findings

# A diagnoser appends the errors for one value found at JSON Pointer ``at``
# (built as we descend).
Diagnoser = Callable[[Any, str, list[Finding]], None]

# Keywords that never reject an instance: a union node with only these besides
# its oneOf/discriminator has nothing to report beyond the union itself.
_ANNOTATIONS = frozenset({
    "title", "description", "$comment", "examples", "example", "default", "deprecated",
    "readOnly", "writeOnly", "externalDocs", "xml", "discriminator", "oneOf", "anyOf",
})


def _accepts_anything(branch: Branch) -> bool:
    """Whether the blanked schema of ``branch`` (its union keywords removed) is empty."""
    schema = branch.schema
    return bool(schema) and is_union(schema) and all(
        key in _ANNOTATIONS or key.startswith("x-") for key in schema
    )


class Diagnosis:
    """Per-branch and per-union error finders for one contract's diagnostic tree."""

    def __init__(self, contract: Contract, generated: bool = True) -> None:
        self.lookup = contract.lookup
        self._branches: dict[str, Diagnoser] = {}
        self._unions: dict[str, UnionSite] = {}
        # False: jsonschema-rs describes every error (the reference the
        # generated diagnosers are tested against).
        self.generated = generated

    def branch(self, branch: Branch) -> Diagnoser:
        found = self._branches.get(branch.pointer)
        if found is None:
            found = self._branches[branch.pointer] = self._compile_branch(branch)
        return found

    def _compile_branch(self, branch: Branch) -> Diagnoser:
        validator = branch.validator
        # No need to ask jsonschema-rs about a schema that cannot fail (the
        # root body schema, once its oneOf is split off, is only annotations).
        is_valid: Callable[[Any], bool] = (
            _always if _accepts_anything(branch) else validator.is_valid
        )
        pointer = branch.pointer
        lookup = self.lookup
        fast = converter(validator, branch.compiled, pointer, lookup)
        # Compiled on first use: a process that only ever sees valid bodies
        # (or a CLI run on one file) never pays for compiling it.
        generated: GeneratedDiagnoser | None = None
        pending = self.generated
        # A union at a plain field (the common shape) is called directly;
        # other locations go through a walker.
        fields: list[tuple[str, str, Diagnoser]] = []
        walkers: list[Diagnoser] = []
        for loc, union in branch.unions:
            if len(loc) == 1 and loc[0] != "*":
                fields.append((loc[0], "/" + token(loc[0]), self.union(union)))
            else:
                walkers.append(walker(loc, self.union(union)))

        def diagnose(instance: Any, at: str, out: list[Finding]) -> None:
            nonlocal generated, pending
            if pending:
                generated = generated_diagnoser(branch.compiled, pointer, lookup)
                pending = False
            # The generated diagnoser answers for most values (no error, or
            # exactly one); what it declines goes to jsonschema-rs.
            if (generated is None or not generated(instance, at, out)) and not is_valid(instance) and (
                    fast is None or not fast(instance, at, out)):
                # iter_errors paths are relative to ``instance``; its own path
                # is read back from ``at`` (to_pointer gives ``at`` again).
                out.extend(schema_findings(validator, instance, tuple(from_pointer(at)), pointer,
                                           lookup))
            if fields and isinstance(instance, dict):
                for field, step, union in fields:
                    if field in instance:
                        union(instance[field], at + step, out)
            for walk in walkers:
                walk(instance, at, out)
        return diagnose

    def root(self, branch: Branch) -> Diagnoser:
        """The body's diagnoser: its union's directly, when the body is nothing but that union."""
        if _accepts_anything(branch) and len(branch.unions) == 1 and branch.unions[0][0] == ():
            return self.union(branch.unions[0][1])
        return self.branch(branch)

    def union(self, union: Union) -> Diagnoser:
        prop = union.property
        table = {value: self.branch(b) for value, b in union.branches.items()}
        pick = table.get
        site = self.union_site(union)
        make = site.make

        def diagnose(instance: Any, at: str, out: list[Finding]) -> None:
            if not isinstance(instance, dict):
                out.append(make(at, instance, NOT_OBJECT))
                return
            if prop not in instance:
                out.append(make(at, None, MISSING))
                return
            value = instance[prop]
            found = pick(value) if isinstance(value, str) else None
            if found is not None:
                found(instance, at, out)
                return
            out.append(make(at, value, BAD_VALUE))
        return diagnose

    def union_site(self, union: Union) -> UnionSite:
        """One site per union (its did-you-mean cache is shared by both diagnosers)."""
        found = self._unions.get(union.pointer)
        if found is None:
            found = self._unions[union.pointer] = UnionSite(union.property, union.values, union.pointer)
        return found


def _always(instance: Any) -> bool:
    return True
