"""``stamp-service scans flush``: persist queued scans from the store (Redis) to the database now.

The web workers flush by themselves every few seconds; this is for cron, for
shutdown scripts, or to inspect the log right away. With the in-process store
(no Redis) only the web process itself holds its queue, so this finds nothing.
"""

from __future__ import annotations

import click

from stamp_service.cli import Context, handles_errors, pass_ctx


def register(main: click.Group) -> None:
    @main.group()
    def scans() -> None:
        """The consumer scan log and its counters."""

    @scans.command("flush")
    @pass_ctx
    @handles_errors
    def scans_flush(ctx: Context) -> None:
        """Move every queued scan into the database (one flusher at a time)."""
        from stamp_service.services.scans import scan_log_for

        runtime = ctx.runtime
        done = scan_log_for(runtime).flush(runtime.session_factory)
        click.echo(f"{done} scans written ({runtime.store.backend} store)")
