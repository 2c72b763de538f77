"""Webhook subscription endpoints, the webhook secret and test events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from kitdesk.api.deps import CallerDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.routes import PathId
from kitdesk.domain.common import Page
from kitdesk.domain.webhooks import logs, subscriptions
from kitdesk.domain.webhooks.schemas import (
    WebhookCreate,
    WebhookLogRead,
    WebhookPatch,
    WebhookRead,
    WebhookSecretCreate,
    WebhookSecretRead,
)
from kitdesk.settings import Settings

router = APIRouter(prefix="/api/v3", tags=["webhooks"])


async def _settings(request: Request) -> Settings:
    # async: FastAPI would run a plain function in its thread pool
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


@router.post(
    "/webhook",
    status_code=201,
    response_model=WebhookRead,
    responses=error_responses(400, 401, 409),
)
async def create_webhook(
    body: WebhookCreate, session: SessionDep, caller: CallerDep, settings: SettingsDep
) -> WebhookRead:
    """Subscribe a URL to one event type; Kitdesk POSTs every such event to it."""
    subscription = await subscriptions.create_webhook(
        session,
        account_id=caller.account_id,
        data=body,
        allow_private=settings.webhook_allow_private_urls,
    )
    return subscriptions.to_read(subscription)


@router.get("/webhook", response_model=Page[WebhookRead], responses=error_responses(400, 401))
async def list_webhooks(
    session: SessionDep, caller: CallerDep, paging: PageDep
) -> Page[WebhookRead]:
    """List the account's webhook subscriptions, page by page."""
    return await subscriptions.list_webhooks(session, account_id=caller.account_id, page=paging)


@router.get(
    "/webhook/{webhookId}", response_model=WebhookRead, responses=error_responses(400, 401, 404)
)
async def get_webhook(webhookId: PathId, session: SessionDep, caller: CallerDep) -> WebhookRead:
    """Fetch one webhook subscription."""
    subscription = await subscriptions.get_webhook(
        session, account_id=caller.account_id, webhook_id=webhookId
    )
    return subscriptions.to_read(subscription)


@router.patch(
    "/webhook/{webhookId}",
    response_model=WebhookRead,
    responses=error_responses(400, 401, 404, 409),
)
async def patch_webhook(
    webhookId: PathId,
    body: WebhookPatch,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> WebhookRead:
    """Change a webhook's URL; the new URL must differ from the current one."""
    subscription = await subscriptions.patch_webhook(
        session,
        account_id=caller.account_id,
        webhook_id=webhookId,
        data=body,
        allow_private=settings.webhook_allow_private_urls,
    )
    return subscriptions.to_read(subscription)


@router.delete(
    "/webhook/{webhookId}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 404),
)
async def delete_webhook(webhookId: PathId, session: SessionDep, caller: CallerDep) -> Response:
    """Delete a webhook: its pending deliveries are dropped, its logs stay."""
    await subscriptions.delete_webhook(session, account_id=caller.account_id, webhook_id=webhookId)
    return Response(status_code=204)


@router.post(
    "/webhook/{webhookId}/test",
    status_code=202,
    response_model=WebhookLogRead,
    responses=error_responses(400, 401, 404),
)
async def test_webhook(webhookId: PathId, session: SessionDep, caller: CallerDep) -> WebhookLogRead:
    """Queue a test event of the webhook's type (payload marked ``"test": true``) to it alone."""
    return await logs.send_test(session, account_id=caller.account_id, webhook_id=webhookId)


@router.post(
    "/webhook-secret",
    status_code=201,
    response_model=WebhookSecretRead,
    responses=error_responses(400, 401, 409),
)
async def create_webhook_secret(
    body: WebhookSecretCreate, session: SessionDep, caller: CallerDep
) -> WebhookSecretRead:
    """Set the secret sent in ``Impilo-Webhook-Secret`` and used to sign deliveries (once)."""
    secret = await subscriptions.create_secret(session, account_id=caller.account_id, data=body)
    return WebhookSecretRead(secret=secret.secret)
