"""Structured logs: JSON lines, the request id on every line, and no PHI or secrets.

What keeps PHI and keys out, whatever handler formats the records:

- Kitdesk's own lines carry ids, route templates, statuses and key prefixes, never field values,
  request bodies or query strings (see ``api/request_log.py``).
- Every log record gets the current request id, and any exception attached to it is replaced by
  a stand-in that keeps the type and the stack but not the message: messages of database and
  validation errors quote the data they were given (a duplicate key's value, a rejected input).
- Library loggers that would print data are filtered: SQLAlchemy's result rows and bound
  parameters (the engine also runs with ``hide_parameters``), aiosqlite's call traces (which
  hold the statement's parameters).

``install_guards`` sets up the last two; the app factory calls it. ``configure`` additionally
sends every line to stderr as JSON; ``kitdesk serve`` calls it through the app factory.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from pydantic_core import to_json

from kitdesk import context
from kitdesk.settings import Settings

# SQLAlchemy's message format for bound parameters (used when an engine does not hide them).
SQLALCHEMY_PARAMETERS = "[%s] %r"
# How deep a chain of causes is followed when it is copied for a log record.
MAX_CHAIN = 10
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class ExceptionMessageWithheld(Exception):
    """Stands in for a logged exception: its type and stack are kept, its message is not."""


def _describe(exc: BaseException) -> str:
    kind = type(exc)
    module = kind.__module__
    name = kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
    if isinstance(exc, BaseExceptionGroup):
        inner = ", ".join(_describe(e) for e in exc.exceptions[:5])
        return f"{name} of [{inner}]"
    return f"{name} (message withheld from logs)"


def _stand_in(exc: BaseException, depth: int = 0) -> BaseException:
    copy = ExceptionMessageWithheld(_describe(exc)).with_traceback(exc.__traceback__)
    if depth < MAX_CHAIN:
        if exc.__cause__ is not None:
            copy.__cause__ = _stand_in(exc.__cause__, depth + 1)
        if exc.__context__ is not None and not exc.__suppress_context__:
            copy.__context__ = _stand_in(exc.__context__, depth + 1)
    copy.__suppress_context__ = exc.__suppress_context__
    return copy


def withheld(exc_info: ExcInfo) -> ExcInfo:
    """``exc_info`` with every message in its chain of exceptions removed."""
    copy = _stand_in(exc_info[1])
    return type(copy), copy, exc_info[2]


def _guarded_factory(previous: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        work = context.current()
        record.request_id = work.request_id if work else None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_info = withheld(record.exc_info)
        return record

    make_record.kitdesk_guard = True  # type: ignore[attr-defined]
    return make_record


class _DropLibraryData(logging.Filter):
    """Drops the records of a library logger that would print data: its debug lines (result
    rows, call traces with parameters) and SQLAlchemy's bound parameters."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG and record.msg != SQLALCHEMY_PARAMETERS


GUARDED_LOGGERS = ("sqlalchemy.engine.Engine", "aiosqlite")


def install_guards() -> None:
    """Put the request id on every record, withhold exception messages and filter library
    loggers that print data. Safe to call any number of times."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "kitdesk_guard", False):
        logging.setLogRecordFactory(_guarded_factory(factory))
    for name in GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropLibraryData) for f in logger.filters):
            logger.addFilter(_DropLibraryData())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, requestId, the record's
    ``fields`` (structured values of Kitdesk's own lines) and the exception's type and stack."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["requestId"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # pydantic-core's encoder: a quarter of json.dumps's time for an access line, which every
        # request writes. Values it does not know are written as their str(), as before.
        return to_json(line, fallback=str).decode()


def _level(name: str) -> int:
    return logging.getLevelNamesMapping().get(name.upper(), logging.INFO)


def dict_config(settings: Settings) -> dict[str, Any]:
    """The logging configuration of a server process: JSON lines on stderr."""
    level = _level(settings.log_level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # Uvicorn's lines go through the root handler, as JSON.
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            # Off: it prints the raw request line, query string included.
            "uvicorn.access": {"handlers": [], "propagate": False, "level": logging.CRITICAL},
            # SQL statements only when asked for (KITDESK_DB_ECHO), never rows or parameters.
            "sqlalchemy.engine": {"level": logging.INFO if settings.db_echo else logging.WARNING},
            "aiosqlite": {"level": logging.WARNING},
        },
    }


def configure(settings: Settings) -> None:
    """Send this process's logs to stderr as JSON lines, with the guards installed."""
    logging.config.dictConfig(dict_config(settings))
    # The lines name no process or thread: records need not look them up (a system call and
    # two lookups per line, paid on every request's log line).
    logging.logProcesses = False
    logging.logThreads = False
    logging.logMultiprocessing = False
    install_guards()
