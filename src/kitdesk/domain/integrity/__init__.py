"""Integrity guarantees: idempotency keys, rate limits, unique external order ids."""
