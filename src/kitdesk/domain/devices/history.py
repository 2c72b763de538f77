"""Moving a device to a new status, always with a ``deviceEvents`` entry."""

from __future__ import annotations

from kitdesk.db.base import utcnow
from kitdesk.db.models import Device, DeviceEvent
from kitdesk.domain.devices.states import DeviceEventType, DeviceStatus


def record(
    device: Device,
    event: DeviceEventType,
    *,
    status: DeviceStatus | None = None,
    order_id: int | None = None,
    return_id: int | None = None,
) -> DeviceEvent:
    """Append an event to a device's history (its ``events`` must be loaded or new)."""
    if status is not None:
        device.current_status = status.value
    entry = DeviceEvent(
        device_id=device.id,
        type=event.value,
        event_timestamp=utcnow(),
        order_id=order_id,
        return_id=return_id,
    )
    device.events.append(entry)
    return entry
