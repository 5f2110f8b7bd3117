"""The Create Avatar OpenAPI document: vendored as published, normalised at load time."""

from ._defect import Severity, SpecDefect, SpecError
from ._elements import SpecElement, element_kinds, spec_elements, split_sentences
from ._loader import SPEC_URI, Spec, load_spec, vendored_spec_path
from ._normalise import normalise
from ._pointer import defined_at, from_pointer, node_at, to_pointer

__all__ = [
    "SPEC_URI",
    "Severity",
    "Spec",
    "SpecDefect",
    "SpecElement",
    "SpecError",
    "defined_at",
    "element_kinds",
    "from_pointer",
    "load_spec",
    "node_at",
    "normalise",
    "spec_elements",
    "split_sentences",
    "to_pointer",
    "vendored_spec_path",
]
