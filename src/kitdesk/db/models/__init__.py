"""Every ORM model, imported here so that ``Base.metadata`` knows all tables."""

from kitdesk.db.models.accounts import Account, ApiKey
from kitdesk.db.models.catalog import CatalogEntry, Item, Kit, KitItem, Manufacturer
from kitdesk.db.models.customers import Patient, Site
from kitdesk.db.models.orders import (
    Order,
    OrderEvent,
    OrderExternalId,
    OrderItem,
    OrderKit,
    OrderNote,
)

__all__ = [
    "Account",
    "ApiKey",
    "CatalogEntry",
    "Item",
    "Kit",
    "KitItem",
    "Manufacturer",
    "Order",
    "OrderEvent",
    "OrderExternalId",
    "OrderItem",
    "OrderKit",
    "OrderNote",
    "Patient",
    "Site",
]
