"""Webhook fixtures: loopback URLs allowed, a live receiver, and a worker on the test's clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kitdesk.settings import Settings
from tests.conftest import Api
from tests.webhooks.receiver import Receiver, running_receiver
from tests.webhooks.support import Worker, settings_for


@pytest.fixture(autouse=True)
def private_urls_allowed(monkeypatch: pytest.MonkeyPatch) -> bool:
    """The receiver listens on 127.0.0.1, which only this setting lets webhooks reach."""
    monkeypatch.setenv("KITDESK_WEBHOOK_ALLOW_PRIVATE_URLS", "true")
    return True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP receiver on a free port of 127.0.0.1."""
    with running_receiver() as running:
        yield running


@pytest.fixture
def worker_settings(api: Api) -> Settings:
    """Worker settings for the app's database (default retry schedule).

    The timeout only bounds a send to the local receiver, which answers at once: it is generous
    so that a loaded machine never turns a delivery into a timeout (the timeout test sets its own).
    """
    return settings_for(api, webhook_timeout_seconds=30.0)


@pytest.fixture
def worker(api: Api, worker_settings: Settings) -> Worker:
    """One worker round at a time, on the app's event loop, at the test's chosen time."""
    return Worker(api, worker_settings)
