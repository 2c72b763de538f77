"""Per request: the work context, the audit entry of a refusal, and one access-log line.

The access line names the route's path template (``/api/v3/patient/{patientId}``), never the
path or query string the client sent: Impilo's list filters put PHI in query strings (``name``,
``email``, ``dateOfBirthMin``) and some paths hold identifiers. Uvicorn's own access log, which
prints the raw request line, stays off.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kitdesk import context
from kitdesk.api.audited import record_refusal

log = logging.getLogger("kitdesk.access")


class RequestLogMiddleware:
    """Starts the request's ``WorkContext`` and logs the request once it is answered.

    Runs inside ``RequestIdMiddleware`` (it reads the request id from the scope's state) and
    outside the other middleware, so every answer, theirs included, is logged. A refusal of an
    audited endpoint is audited just before its response starts, after the request's own
    transaction has ended.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id") or uuid.uuid4().hex
        work = context.begin(context.WorkContext(request_id=request_id, channel="api"))
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                await record_refusal(scope, message["status"])
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            template = getattr(scope.get("route"), "path_format", None)
            fields = {
                "method": scope["method"],
                "path": template,
                "status": status,
                "durationMs": round((time.perf_counter() - started) * 1000, 1),
                "keyPrefix": work.key_prefix,
                "accountId": work.account_id,
            }
            log.info("%s %s %s", scope["method"], template or "-", status, extra={"fields": fields})
