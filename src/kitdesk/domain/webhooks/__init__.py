"""Impilo-compatible webhooks: subscriptions, the event outbox and its delivery worker.

Other domains call ``emit`` inside their own transaction; see docs/webhooks.md.
"""

from kitdesk.domain.webhooks.outbox import emit
from kitdesk.domain.webhooks.types import EVENT_TYPES, PHI_EVENT_TYPES, SUBSCRIBABLE_TYPES

__all__ = ["EVENT_TYPES", "PHI_EVENT_TYPES", "SUBSCRIBABLE_TYPES", "emit"]
