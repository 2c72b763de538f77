"""The ``api`` fixture reuses an app only while nothing a test did to it could reach the next."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests import conftest


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    # A URL of its own: the apps of the suite's other tests are never touched. No connection is
    # opened, since no lifespan runs.
    database_url = f"sqlite:///{tmp_path / 'unused.db'}"
    yield database_url
    for key in [k for k, r in conftest._APPS.items() if str(tmp_path) in k]:
        del conftest._APPS[key]


def test_an_untouched_app_is_reused_without_its_lifespans_state(url: str) -> None:
    first = conftest._reused_app(url)
    first.app.state.pending_releases = object()  # what a lifespan leaves behind

    conftest._after_test(first)

    again = conftest._reused_app(url)
    assert again is first
    assert not hasattr(again.app.state, "pending_releases")
    assert again.app.state.engine is first.app.state.engine


def test_an_app_whose_settings_a_test_changed_is_built_again(url: str) -> None:
    first = conftest._reused_app(url)
    first.app.state.settings.api_key_last_used_seconds = 3600

    conftest._after_test(first)

    again = conftest._reused_app(url)
    assert again is not first
    assert again.app.state.settings.api_key_last_used_seconds != 3600


def test_an_app_whose_engine_kept_a_tests_listener_is_built_again(url: str) -> None:
    first = conftest._reused_app(url)

    def listen(*args: Any) -> None:
        pass

    event.listen(first.app.state.engine.sync_engine, "before_cursor_execute", listen)

    conftest._after_test(first)

    assert conftest._reused_app(url) is not first


def test_other_settings_from_the_environment_get_an_app_of_their_own(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = conftest._reused_app(url)
    monkeypatch.setenv("KITDESK_WEBHOOK_ALLOW_PRIVATE_URLS", "true")

    allowing = conftest._reused_app(url)

    assert allowing is not plain
    assert allowing.app.state.settings.webhook_allow_private_urls is True
    assert plain.app.state.settings.webhook_allow_private_urls is False


def test_an_app_given_dependency_overrides_is_built_again(url: str) -> None:
    first = conftest._reused_app(url)
    first.app.dependency_overrides[object] = object

    conftest._after_test(first)

    assert conftest._reused_app(url) is not first
