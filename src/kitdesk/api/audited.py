"""The audited endpoints, and the audit entry of a refused request to one of them.

A successful request is audited by the service it calls (``kitdesk.domain.audit.recorder``),
in the request's own transaction. A refused one (401, 403 or 404) never reaches that point, or
rolls back, so the request-log middleware writes its entry from this table, in a transaction of
its own, before the refusal is sent. Every endpoint whose response carries a patient's data, and
every endpoint that changes devices or webhooks, is listed (a test holds the list to the OpenAPI
document).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Scope

from kitdesk.db.engine import session_scope
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.common import MAX_ID

V3 = "/api/v3"
REFUSALS = {401: "unauthorized", 403: "forbidden", 404: "not_found"}


@dataclass(frozen=True)
class Audited:
    """What an endpoint does, as its audit entries name it."""

    action: str
    resource_type: str
    # The path parameter holding the record's id, if the path names one.
    id_param: str | None = None


def _on(resource_type: str, id_param: str | None = None, **actions: str) -> dict[str, Audited]:
    return {verb: Audited(action, resource_type, id_param) for verb, action in actions.items()}


AUDITED: dict[tuple[str, str], Audited] = {
    (method, path): audited
    for path, by_method in {
        f"{V3}/patient": _on("patient", POST="patient.create", GET="patient.list"),
        f"{V3}/patient/identifier/{{identifier}}": _on("patient", GET="patient.read"),
        f"{V3}/patient/email": _on("patient", POST="patient.read"),
        f"{V3}/patient/{{patientId}}": _on(
            "patient", "patientId", GET="patient.read", PUT="patient.update", PATCH="patient.update"
        ),
        f"{V3}/order": _on("order", POST="order.create", GET="order.list"),
        f"{V3}/order/{{orderId}}": _on("order", "orderId", GET="order.read"),
        f"{V3}/order/{{orderId}}/cancel": _on("order", "orderId", POST="order.cancel"),
        f"{V3}/order/{{orderId}}/note": _on("order", "orderId", POST="order.update"),
        f"{V3}/return": _on("return", POST="return.create", GET="return.list"),
        f"{V3}/return/{{returnId}}": _on("return", "returnId", GET="return.read"),
        f"{V3}/loaner": _on("order", GET="loaner.list"),
        f"{V3}/device": _on("device", GET="device.list"),
        f"{V3}/device/{{deviceId}}": _on("device", "deviceId", GET="device.read"),
        f"{V3}/device/validate/{{deviceIdentifier}}": _on("device", GET="device.read"),
        f"{V3}/device/associate-patient": _on("device", PATCH="device.associate"),
        f"{V3}/device/disassociate-patient": _on("device", PATCH="device.disassociate"),
        f"{V3}/device/disable-readings": _on("device", PATCH="device.update"),
        f"{V3}/device/enable-readings": _on("device", PATCH="device.update"),
        f"{V3}/webhook": _on("webhook", POST="webhook.create"),
        f"{V3}/webhook/{{webhookId}}": _on(
            "webhook", "webhookId", PATCH="webhook.update", DELETE="webhook.delete"
        ),
        f"{V3}/webhook-secret": _on("webhookSecret", POST="webhookSecret.create"),
        f"{V3}/ops/order": _on("order", GET="order.list"),
        f"{V3}/ops/order/{{orderId}}": _on("order", "orderId", GET="order.read"),
        f"{V3}/ops/order/{{orderId}}/status": _on("order", "orderId", POST="order.move"),
        f"{V3}/ops/return": _on("return", GET="return.list"),
        f"{V3}/ops/return/{{returnId}}": _on("return", "returnId", GET="return.read"),
        f"{V3}/ops/return/{{returnId}}/status": _on("return", "returnId", POST="return.move"),
        f"{V3}/ops/return/{{returnId}}/receive": _on("return", "returnId", POST="return.receive"),
        f"{V3}/ops/device/{{deviceId}}/inspect": _on("device", "deviceId", POST="device.inspect"),
        f"{V3}/ops/fulfillment-site/{{siteId}}/devices": _on("device", POST="device.create"),
        f"{V3}/ops/loaner": _on("order", GET="loaner.list"),
    }.items()
    for method, audited in by_method.items()
}


def audited_endpoint(scope: Scope) -> Audited | None:
    """The audited endpoint a request was routed to, if it was routed to one."""
    path = getattr(scope.get("route"), "path_format", None)
    return AUDITED.get((scope["method"], path)) if path else None


def _path_id(scope: Scope, audited: Audited) -> int | None:
    raw = scope.get("path_params", {}).get(audited.id_param) if audited.id_param else None
    text = str(raw) if raw is not None else ""
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


async def record_refusal(scope: Scope, status: int) -> None:
    """Write the audit entry of a request to an audited endpoint refused with 401, 403 or 404.

    Its own transaction writes it: the refused request's has rolled back by now. If the write
    fails, the error propagates and the request is answered with a 500 instead.
    """
    audited = audited_endpoint(scope)
    if audited is None or status not in REFUSALS:
        return
    async with session_scope(scope["app"].state.session_factory) as session:
        audit.record_denied(
            session,
            action=audited.action,
            resource_type=audited.resource_type,
            resource_id=_path_id(scope, audited),
            reason=REFUSALS[status],
        )
