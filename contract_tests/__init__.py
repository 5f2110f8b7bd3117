"""The Create Avatar contract suite: named clauses, run against any implementation."""
