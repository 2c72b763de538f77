"""Integrity for the HTTP API: idempotency keys and rate limits (see docs/guarantees.md)."""
