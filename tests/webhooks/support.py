"""Helpers shared by the webhook tests: paths, factories and a worker driven by the test's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from kitdesk.db.models import WebhookDelivery
from kitdesk.domain.accounts.service import authenticate
from kitdesk.domain.webhooks import emit
from kitdesk.domain.webhooks.transport import create_client
from kitdesk.domain.webhooks.worker import run_once
from kitdesk.settings import Settings
from tests.conftest import Api

WEBHOOK = "/api/v3/webhook"
LOGS = "/api/v3/webhook/logs"
SECRET = "/api/v3/webhook-secret"
ORDER_PAYLOAD = {"orderId": 42, "orderEventType": "shipped"}


def settings_for(api: Api, **fields: Any) -> Settings:
    """Settings for the app's own database, with ``fields`` changed."""
    database_url = api.client.app.state.settings.database_url  # type: ignore[attr-defined]
    return Settings(database_url=database_url, **fields)


def subscribe(api: Api, key: str, url: str, type: str = "order.status") -> dict[str, Any]:
    """Create a webhook through the API and return its JSON."""
    response = api.post(WEBHOOK, key=key, json={"type": type, "url": url})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def account_of(api: Api, key: str) -> int:
    """The account id behind an API key."""
    return api.call(lambda s: authenticate(s, key)).account_id


def emit_event(
    api: Api,
    account_id: int,
    *,
    type: str = "order.status",
    resource_key: str = "order:42",
    payload: dict[str, Any] | None = None,
) -> None:
    """Emit one event in its own committed transaction, as a service would."""
    api.call(
        lambda s: emit(
            s,
            account_id=account_id,
            type=type,
            resource_key=resource_key,
            payload=ORDER_PAYLOAD if payload is None else payload,
        )
    )


def deliveries(api: Api) -> list[WebhookDelivery]:
    """Every delivery row, oldest first."""

    async def load(session: Any) -> list[WebhookDelivery]:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))

    return api.call(load)


def log_page(api: Api, key: str, **params: Any) -> dict[str, Any]:
    """One page of the webhook log (asserting the request succeeded)."""
    response = api.get(LOGS, key=key, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def log_ids(api: Api, key: str, **params: Any) -> list[int]:
    """The ids of the log entries matching ``params``."""
    return [row["id"] for row in log_page(api, key, **params)["content"]]


@dataclass
class Worker:
    """Runs one worker round on the app's event loop at a time the test chooses."""

    api: Api
    settings: Settings

    def run(self, now: datetime) -> int:
        async def round_() -> int:
            factory = self.api.client.app.state.session_factory  # type: ignore[attr-defined]
            async with create_client(self.settings) as client:
                return await run_once(factory, self.settings, now=now, client=client)

        assert self.api.client.portal is not None
        return self.api.client.portal.call(round_)
