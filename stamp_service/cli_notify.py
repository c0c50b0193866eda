"""``stamp-service notify``: send the notices that are due (new stamp requests, certificates
expiring in 90 and 30 days) through the configured channels. Run it from cron every few minutes;
with no channel configured (the default) it says so and sends nothing."""

from __future__ import annotations

import click

from stamp_service.cli import Context, handles_errors, pass_ctx


def register(main: click.Group) -> None:
    @main.command("notify")
    @pass_ctx
    @handles_errors
    def notify(ctx: Context) -> None:
        """Send due notices once (each notice goes out once per channel)."""
        from stamp_service.notifier import channels_from
        from stamp_service.services.notifications import send_due

        settings = ctx.settings
        channels = channels_from(settings)
        if not channels:
            click.echo("notifications are off (set OCOP_SMTP_HOST and OCOP_NOTIFY_TO)")
            return
        with ctx.session() as session:
            report = send_due(
                session, channels, settings.notify_recipients, base_url=settings.public_base_url.lower()
            )
        click.echo(
            f"{report.sent} sent, {report.failed} failed (retried next run), "
            f"{report.without_recipients} without recipients"
        )
        if report.failed:
            raise SystemExit(1)
