"""``kitdesk worker``: deliver webhooks until stopped.

Wired into the ``kitdesk`` command in ``cli/main.py``. Run as many as you like, on any hosts,
against one PostgreSQL database: they share the work and never send one attempt twice at once.
"""

from __future__ import annotations

import asyncio
import signal

import typer

from kitdesk.cli.runtime import run
from kitdesk.domain.webhooks.worker import run_worker
from kitdesk.settings import Settings


def worker() -> None:
    """Deliver queued webhook events until SIGINT or SIGTERM (the batch in hand is finished)."""
    settings = Settings()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        typer.echo("webhook worker started; stop it with Ctrl-C or SIGTERM")
        await run_worker(settings, stop)
        typer.echo("webhook worker stopped")

    run(main)
