"""Targets and transport: where requests go, with which keys, and how each exchange is kept."""
