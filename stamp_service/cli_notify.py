"""``stamp-service notify``: send the notices that are due through the configured channels: the
office's (new stamp requests, certificates expiring in 90 and 30 days) and each producer's own
(requests decided or ready, certificates expiring, stars withdrawn or reduced, lots recalled).
Run it from cron every few minutes; with no channel configured (the default) it says so and sends
nothing."""

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
        from stamp_service.services import producer_notices
        from stamp_service.services.notifications import send_due
        from stamp_service.web.i18n import translations

        settings = ctx.settings
        channels = channels_from(settings)
        if not channels:
            click.echo("notifications are off (set OCOP_SMTP_HOST and OCOP_NOTIFY_TO)")
            return
        base_url = settings.public_base_url.lower()
        with ctx.session() as session:
            report = send_due(session, channels, settings.notify_recipients, base_url=base_url)
            producers = producer_notices.send_due(
                session, channels, base_url=base_url, vietnamese=translations("vi").gettext
            )
        click.echo(
            f"{report.sent} sent, {report.failed} failed (retried next run), "
            f"{report.without_recipients} without recipients"
        )
        click.echo(
            f"producers: {producers.sent} sent, {producers.failed} failed (retried next run), "
            f"{producers.without_recipients} without an email address"
        )
        if report.failed or producers.failed:
            raise SystemExit(1)
