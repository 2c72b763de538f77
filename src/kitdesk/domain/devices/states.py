"""Device statuses and device event types: the only place their names are spelled."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class DeviceStatus(StrEnum):
    """Where a serialized unit is in its life."""

    IN_STOCK = "inStock"  # at a warehouse, free to pack
    ALLOCATED = "allocated"  # packed on an order, still at the warehouse
    IN_TRANSIT = "inTransit"  # shipped, not yet delivered
    AVAILABLE_AT_SITE = "availableAtSite"  # at a customer site, with no patient
    WITH_PATIENT = "withPatient"
    RETURN_IN_TRANSIT = "returnInTransit"  # on its way back to a warehouse
    RETURNED = "returned"  # back at a warehouse, awaiting inspection
    RETIRED = "retired"
    LOST = "lost"


class DeviceEventType(StrEnum):
    """The ``type`` of a ``deviceEvents`` entry."""

    RECEIVED = "received"
    ALLOCATED = "allocated"
    UNALLOCATED = "unallocated"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    SHIPMENT_RETURNED = "shipmentReturned"
    ASSOCIATED = "associated"
    DISASSOCIATED = "disassociated"
    READINGS_DISABLED = "readingsDisabled"
    READINGS_ENABLED = "readingsEnabled"
    RETURN_REQUESTED = "returnRequested"
    RETURN_CANCELLED = "returnCancelled"
    RETURN_SHIPPED = "returnShipped"
    RETURN_RECEIVED = "returnReceived"
    INSPECTED_IN_STOCK = "inspectedInStock"
    RETIRED = "retired"
    MARKED_LOST = "markedLost"


# What inspecting a returned device can conclude: back in stock, or out of use.
InspectionResult = Literal["inStock", "retired"]

# Statuses in which a customer holds the device (it can be returned or associated).
HELD_BY_CUSTOMER = frozenset({DeviceStatus.AVAILABLE_AT_SITE, DeviceStatus.WITH_PATIENT})
