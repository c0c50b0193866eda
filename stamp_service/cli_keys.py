"""``stamp-service keys ...``: the signing key life cycle from the office's admin host."""

from __future__ import annotations

from datetime import timedelta

import click

from stamp_service.cli import Context, handles_errors, pass_ctx
from stamp_service.domain.access import SYSTEM


def _ring(ctx: Context):  # type: ignore[no-untyped-def]
    from stamp_service.crypto.keyring import for_runtime

    return for_runtime(ctx.runtime)


def _period(ctx: Context) -> timedelta:
    return timedelta(hours=ctx.settings.key_publish_hours)


def register(main: click.Group) -> None:
    @main.group()
    def keys() -> None:
        """Ed25519 signing keys: create, publish, list, rotate, retire, compromise."""

    @keys.command("create")
    @click.option("--note", default="", help="free text kept with the key")
    @pass_ctx
    @handles_errors
    def keys_create(ctx: Context, note: str) -> None:
        """Create the first signing key (and the service secret); later use `rotate`."""
        from stamp_service.services import keys as svc

        with ctx.session() as session:
            row = svc.create(session, SYSTEM, keyring=_ring(ctx), note=note)
        click.echo(f"key {row.kid} created and active (private key: {ctx.settings.keys_dir}/{row.kid}.pem)")

    @keys.command("publish")
    @click.option("--note", default="", help="free text kept with the key")
    @pass_ctx
    @handles_errors
    def keys_publish(ctx: Context, note: str) -> None:
        """Add a pending key: published to scanners now, signing only after `rotate`."""
        from stamp_service.services import keys as svc

        with ctx.session() as session:
            row = svc.publish(session, SYSTEM, keyring=_ring(ctx), note=note)
            when = svc.activatable_at(row, _period(ctx))
        click.echo(
            f"key {row.kid} published (pending); `stamp-service keys rotate` can activate it from "
            f"{when:%Y-%m-%d %H:%M} UTC, when every offline scanner with a valid bundle knows it"
        )

    @keys.command("list")
    @pass_ctx
    @handles_errors
    def keys_list(ctx: Context) -> None:
        """Every key with its state and dates."""
        from stamp_service.services import keys as svc

        with ctx.session() as session:
            rows = svc.list_keys(session, SYSTEM)
        period = _period(ctx)
        if not rows:
            click.echo("no signing keys yet: run `stamp-service keys create`")
        for r in rows:
            dates = "  ".join(
                f"{name}={value:%Y-%m-%d %H:%M}"
                for name, value in (
                    ("created", r.created_at),
                    ("activatable", svc.activatable_at(r, period) if r.state == "pending" else None),
                    ("activated", r.activated_at),
                    ("retired", r.retired_at),
                    ("compromised", r.compromised_at),
                )
                if value
            )
            click.echo(f"{r.kid}  {r.state:<11}  {dates}  {r.note}".rstrip())

    @keys.command("rotate")
    @click.option("--note", default="", help="free text kept with the new key")
    @click.option(
        "--force",
        is_flag=True,
        help="activate a key published too recently, or with none pending create one and activate it "
        "at once (offline scanners call its stamps not genuine until their next bundle)",
    )
    @pass_ctx
    @handles_errors
    def keys_rotate(ctx: Context, note: str, force: bool) -> None:
        """Activate the pending key (published long enough); the previous active key is retired."""
        from stamp_service.services import keys as svc

        with ctx.session() as session:
            row = svc.rotate(
                session, SYSTEM, keyring=_ring(ctx), note=note, force=force, publish_period=_period(ctx)
            )
        click.echo(f"key {row.kid} is now active; the previous key (if any) is retired")

    @keys.command("retire")
    @click.argument("kid")
    @click.option("--reason", default="")
    @pass_ctx
    @handles_errors
    def keys_retire(ctx: Context, kid: str, reason: str) -> None:
        """Stop signing with KID (its stamps still verify). Issuance stops until `rotate`."""
        from stamp_service.services import keys as svc

        with ctx.session() as session:
            row = svc.retire(session, SYSTEM, keyring=_ring(ctx), kid=kid, reason=reason)
        click.echo(f"key {row.kid} retired; no key is active now: run `stamp-service keys rotate`")

    @keys.command("compromise")
    @click.argument("kid")
    @click.option("--reason", required=True, help="why the key is no longer trusted (audited)")
    @click.option(
        "--replace/--no-replace",
        default=True,
        show_default=True,
        help="if KID is active, make a new key active in the same transaction",
    )
    @pass_ctx
    @handles_errors
    def keys_compromise(ctx: Context, kid: str, reason: str, replace: bool) -> None:
        """Mark KID compromised: its stamps verify online only, with a warning."""
        from stamp_service.services import keys as svc

        with ctx.session() as session:
            row, new = svc.compromise(
                session, SYSTEM, keyring=_ring(ctx), kid=kid, reason=reason, replace=replace
            )
        click.echo(f"key {row.kid} marked compromised")
        if new is not None:
            click.echo(f"key {new.kid} is now active")
        elif row.activated_at and not row.retired_at:
            click.echo("no key is active now: run `stamp-service keys rotate`")
