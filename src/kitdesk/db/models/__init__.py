"""Every ORM model, imported here so that ``Base.metadata`` knows all tables."""

from kitdesk.db.models.accounts import Account, ApiKey
from kitdesk.db.models.audit import AuditEntry
from kitdesk.db.models.catalog import CatalogEntry, Item, Kit, KitItem, Manufacturer
from kitdesk.db.models.customers import Patient, Site
from kitdesk.db.models.devices import (
    Device,
    DeviceEvent,
    DeviceIdentifier,
    OrderDevice,
    PackedKit,
    TrackingNumber,
)
from kitdesk.db.models.integrity import ExternalOrderIdClaim, IdempotencyKey, RateLimitCounter
from kitdesk.db.models.inventory import FulfillmentSite, OrderReservation, StockLevel
from kitdesk.db.models.orders import (
    Order,
    OrderEvent,
    OrderExternalId,
    OrderItem,
    OrderKit,
    OrderNote,
)
from kitdesk.db.models.returns import (
    Return,
    ReturnDevice,
    ReturnEvent,
    ReturnItem,
    ReturnPackedKit,
)
from kitdesk.db.models.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSecret,
    WebhookSubscription,
)

__all__ = [
    "Account",
    "ApiKey",
    "AuditEntry",
    "CatalogEntry",
    "Device",
    "DeviceEvent",
    "DeviceIdentifier",
    "ExternalOrderIdClaim",
    "FulfillmentSite",
    "IdempotencyKey",
    "Item",
    "Kit",
    "KitItem",
    "Manufacturer",
    "Order",
    "OrderDevice",
    "OrderEvent",
    "OrderExternalId",
    "OrderItem",
    "OrderKit",
    "OrderNote",
    "OrderReservation",
    "PackedKit",
    "Patient",
    "RateLimitCounter",
    "Return",
    "ReturnDevice",
    "ReturnEvent",
    "ReturnItem",
    "ReturnPackedKit",
    "Site",
    "StockLevel",
    "TrackingNumber",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSecret",
    "WebhookSubscription",
]
