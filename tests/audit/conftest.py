"""The ``kitdesk`` command on a migrated, empty database, for the audit trail's CLI tests."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Cli


@pytest.fixture
def cli(database_url: str) -> Cli:
    """``kitdesk`` on a migrated, empty database (SQLite, and PostgreSQL when configured)."""
    return Cli(database_url)
