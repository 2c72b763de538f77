"""Webhooks: subscriptions, outbox, delivery worker, logs."""
