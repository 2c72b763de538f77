"""Kitdesk's ASGI app with a statement recorder, for the benchmark's capture run only.

Run it like the real server (``uvicorn bench.capture_app:create_capture_app --factory``, one
worker). When ``KITDESK_BENCH_CAPTURE`` names a file, every SQL statement the app sends is
appended to it as one JSON line, with its parameters written in as literals, together with the
transaction boundaries and a marker line at the start and the end of each HTTP request. The
benchmark sends one request at a time, so the lines between two markers are that request's.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.sqlrender import render_all
from kitdesk.api.app import create_app_from_env
from kitdesk.db.driver import OneMessage

CAPTURE_ENV = "KITDESK_BENCH_CAPTURE"


class Recorder:
    """Appends capture lines to one file (flushed per line, so a reader sees them at once)."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the app
        self._lock = threading.Lock()

    def write(self, **line: Any) -> None:
        with self._lock:
            self._file.write(json.dumps(line) + "\n")
            self._file.flush()

    def attach(self) -> None:
        """Listen on every engine the process creates (the app builds its engine at startup)."""
        event.listen(Engine, "before_cursor_execute", self._statement)
        for kind in ("begin", "commit", "rollback"):
            event.listen(Engine, kind, self._control(kind))

    def _control(self, kind: str) -> Any:
        def write(conn: Any) -> None:
            # A connection in autocommit sends no BEGIN, COMMIT or ROLLBACK, whatever the
            # session does: each of its statements is a transaction of its own.
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                self.write(kind=kind)

        return write

    def _statement(
        self,
        conn: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        rendered = render_all(
            statement, parameters, conn.dialect.paramstyle, executemany=executemany
        )
        line: dict[str, Any] = {"statements": rendered, "executemany": executemany}
        if isinstance(context, OneMessage):
            # Sent with others in one message, one transaction: replayed as one pipeline.
            line["one_message"] = [context.position, context.count]
        self.write(kind="sql", **line)


class RequestMarkers:
    """Writes a marker line before and after each HTTP request."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        self.recorder.write(kind="request", method=scope["method"], target=target)
        try:
            await self.app(scope, receive, send)
        finally:
            self.recorder.write(kind="end")


def create_capture_app() -> ASGIApp:
    """The app from the environment, recording its statements when ``KITDESK_BENCH_CAPTURE``
    is set."""
    app = create_app_from_env()
    path = os.environ.get(CAPTURE_ENV)
    if not path:
        return app
    recorder = Recorder(path)
    recorder.attach()
    return RequestMarkers(app, recorder)
