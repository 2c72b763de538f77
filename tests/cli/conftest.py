"""The ``kitdesk`` command driven in-process against a test database.

CLI commands run their own event loop, so these tests use ``database_url`` directly and never the
``api`` fixture; to check what the API makes of a command's work, ``api_client`` starts the app on
the same database after the command has run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from kitdesk.api.app import create_app
from kitdesk.cli.main import app
from kitdesk.settings import Settings


@dataclass
class Cli:
    """Runs ``kitdesk`` with KITDESK_DATABASE_URL pointing at one database."""

    database_url: str
    runner: CliRunner = field(default_factory=CliRunner)

    def run(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        base: dict[str, str | None] = {
            "KITDESK_DATABASE_URL": self.database_url,
            "KITDESK_DEMO_API_KEY": None,
        }
        return self.runner.invoke(app, list(args), env={**base, **(env or {})})

    def ok(self, *args: str, env: dict[str, str | None] | None = None) -> str:
        """Run a command that must succeed quietly on stderr; returns its stdout."""
        result = self.run(*args, env=env)
        assert result.exception is None, result.exception
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        return result.stdout

    def fails(self, *args: str, code: int, env: dict[str, str | None] | None = None) -> str:
        """Run a command that must fail with ``code`` and one error line; returns that line."""
        result = self.run(*args, env=env)
        assert isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code == code, result.output
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        return lines[0]


@pytest.fixture
def cli(database_url: str) -> Cli:
    """``kitdesk`` on a migrated, empty database (SQLite, and PostgreSQL when configured)."""
    return Cli(database_url)


@contextmanager
def api_client(database_url: str) -> Iterator[TestClient]:
    """The Kitdesk API on ``database_url``, started after the commands under test have run."""
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield client
