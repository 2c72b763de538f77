"""Webhook event types: those Kitdesk produces and the other types Impilo documents."""

from __future__ import annotations

# Types Kitdesk emits, with what their payload holds.
EVENT_TYPES: dict[str, str] = {
    "order.status": "An order changed status: {orderId, orderEventType}.",
    "order.statusFull": "An order changed status: the full Order.",
    "return.statusFull": "A return changed status: the full Return.",
    "patient.created": "A patient was created: the full Patient.",
    "patient.updated": "A patient's details changed: the full Patient.",
    "device.associationCreated": "A device was associated with a patient: the full Device.",
    "device.associationRemoved": "A device was disassociated from a patient: the full Device.",
}

# Documented by Impilo (spec section 7.2) and accepted for subscription so that Impilo clients
# work unchanged, though Kitdesk does not produce them (the test endpoint can still fire them).
OTHER_DOCUMENTED_TYPES: tuple[str, ...] = (
    "procurement.status",
    "procurement.statusFull",
    "transferRequest.statusFull",
    "supportTicket.event",
    "device.lowBattery",
    "device.weakSignal",
    "device.healthcheck",
    "reading.bloodGlucose",
    "reading.bloodOxygen",
    "reading.bloodPressure",
    "reading.ecg",
    "reading.peakFlow",
    "reading.sleepMatActivity",
    "reading.sleepMatDuration",
    "reading.temperature",
    "reading.weight",
)

SUBSCRIBABLE_TYPES: frozenset[str] = frozenset(EVENT_TYPES) | frozenset(OTHER_DOCUMENTED_TYPES)

# Payloads of these carry patient data (PHI), directly or inside an Order, Return or Device.
PHI_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "order.statusFull",
        "return.statusFull",
        "patient.created",
        "patient.updated",
        "device.associationCreated",
        "device.associationRemoved",
    }
)
