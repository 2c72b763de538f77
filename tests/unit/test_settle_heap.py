"""A server process's garbage collector: startup objects frozen, later garbage still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from kitdesk.api import app as app_module


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_settling_freezes_what_is_alive_and_raises_the_young_threshold(restored_gc: None) -> None:
    before = gc.get_freeze_count()
    app_module.settle_heap()
    assert gc.get_freeze_count() > before
    assert gc.get_threshold()[0] == app_module.GC_YOUNG_THRESHOLD


def test_cycles_made_after_settling_are_still_collected(restored_gc: None) -> None:
    app_module.settle_heap()
    first, second = _Node(), _Node()
    first.other, second.other = second, first  # a reference cycle: only the collector frees it
    watch = weakref.ref(first)
    del first, second
    assert watch() is not None
    gc.collect()
    assert watch() is None


def test_the_server_factory_settles_the_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(app_module, "settle_heap", lambda: calls.append("settled"))
    monkeypatch.setattr(app_module.logs, "configure", lambda settings: None)
    monkeypatch.setenv("KITDESK_DATABASE_URL", "sqlite:///unused.db")
    app_module.create_app_from_env()
    assert calls == ["settled"]
