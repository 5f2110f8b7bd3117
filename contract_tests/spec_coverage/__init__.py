"""Spec coverage: which probe, fact, clause or rule checks each element of the spec, or why none can."""
