"""Requests derived from the spec: valid bodies, must-refuse probes, must-accept values, Idempotency-Keys."""
