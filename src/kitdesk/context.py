"""Who a unit of work runs for: the request (or command) id, the channel and the caller.

Set once per HTTP request by the access-log middleware, completed by the API's caller
dependency once the key is known, and set per command by the CLI. Log records read the request id
from here and audit entries read the whole of it, so neither has to be threaded through every
function. Work outside any request or command (tests, scripts, background workers) has none.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

Channel = Literal["api", "cli", "system"]


@dataclass
class WorkContext:
    """The current request or command. ``account_id`` and ``key_prefix`` stay None until known."""

    request_id: str
    channel: Channel
    account_id: int | None = None
    key_prefix: str | None = None


_current: ContextVar[WorkContext | None] = ContextVar("kitdesk_work_context", default=None)


def current() -> WorkContext | None:
    """The context of the running request or command, if any."""
    return _current.get()


def begin(context: WorkContext) -> WorkContext:
    """Make ``context`` current for the rest of the running task.

    Each HTTP request runs in its own task (uvicorn and the test client both start one per
    request), so the value ends with the task; it is deliberately not reset when the middleware
    returns, so the error handler outside it still logs with the request id.
    """
    _current.set(context)
    return context


@contextmanager
def command_context() -> Iterator[WorkContext]:
    """A fresh context for one command-line command, removed when the command ends."""
    token = _current.set(WorkContext(request_id=f"cli-{uuid.uuid4().hex}", channel="cli"))
    try:
        context = _current.get()
        assert context is not None
        yield context
    finally:
        _current.reset(token)
