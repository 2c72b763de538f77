"""The benchmark's own PostgreSQL database: created at the start, dropped at the end."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "kitdesk_bench"


def require_loopback(host: str) -> None:
    """Refuse any target that is not on this machine: the benchmark only talks to loopback."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"bench: {host!r} is not a loopback address; the benchmark only runs locally")


@dataclass(frozen=True)
class BenchDatabase:
    """A database named ``name`` on the server that ``server_url`` reaches."""

    server_url: str
    name: str

    def __post_init__(self) -> None:
        require_loopback(self.host)
        if not self.name.replace("_", "").isalnum():
            raise SystemExit(f"bench: database name {self.name!r} must be letters, digits and _")

    @property
    def _parts(self) -> tuple[str, str, str, str, str]:
        parts = urlsplit(self.server_url)
        return parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment

    @property
    def host(self) -> str:
        return urlsplit(self.server_url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.server_url).port or 5432

    @property
    def user(self) -> str:
        return urlsplit(self.server_url).username or "postgres"

    @property
    def url(self) -> str:
        """The URL of the benchmark's database (the form ``KITDESK_DATABASE_URL`` takes)."""
        scheme, netloc, _path, query, fragment = self._parts
        return urlunsplit((scheme, netloc, f"/{self.name}", query, fragment))

    def create(self) -> None:
        """Create the database, dropping a leftover of an interrupted run first."""
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    def server_version(self) -> str:
        return asyncio.run(self._admin("SHOW server_version", fetch=True)) or "unknown"

    async def _admin(self, sql: str, *, fetch: bool = False) -> str | None:
        # asyncpg takes a plain postgresql:// URL; SQLAlchemy's form names the driver too.
        scheme, netloc, path, query, fragment = self._parts
        plain = urlunsplit((scheme.split("+")[0], netloc, path, query, fragment))
        conn = await asyncpg.connect(plain)
        try:
            if fetch:
                value = await conn.fetchval(sql)
                return str(value)
            await conn.execute(sql)
            return None
        finally:
            await conn.close()


def database_for_tests(test_database_url: str, suffix: str) -> BenchDatabase:
    """A benchmark database beside the test database (same server and user, its own name)."""
    parts = urlsplit(test_database_url)
    name = (parts.path.lstrip("/") or "kitdesk") + suffix
    server = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
    return BenchDatabase(server_url=server, name=name)
