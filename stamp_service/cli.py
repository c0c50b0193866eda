"""The ``stamp-service`` command: migrate, accounts and tokens, reference and demo data, audit, serve.

Errors the user can cause print one line and exit non-zero; no tracebacks.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from stamp_service.config import Settings, load_settings
from stamp_service.domain.access import SYSTEM, Role
from stamp_service.errors import ServiceError
from stamp_service.runtime import Runtime


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ServiceError as exc:
            details = "; ".join(f"{e['field']}: {e['message']}" for e in exc.extra.get("errors", []))
            fail(f"{exc.detail}{' (' + details + ')' if details else ''}")
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}")

    return wrapper


class Context:
    """Lazily built runtime, so ``--help`` never touches the database."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            try:
                self._runtime = Runtime.from_settings(load_settings())
            except ServiceError as exc:
                fail(exc.detail)
        return self._runtime  # type: ignore[return-value]

    def session(self):  # type: ignore[no-untyped-def]
        return self.runtime.session_factory()


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """OCOP stamp service administration."""
    ctx.ensure_object(Context)


@main.command()
@pass_ctx
@handles_errors
def migrate(ctx: Context) -> None:
    """Bring the database schema to the latest version and load the built-in reference data."""
    from stamp_service.services import reference as svc
    from stamp_service.storage.migrate import upgrade

    upgrade(ctx.runtime.engine)
    click.echo("database is at the latest schema version")
    with ctx.session() as session:
        changed = svc.load_builtin(session, SYSTEM)
    click.echo(f"built-in reference data loaded ({changed} rows added or updated)")


@main.group()
def accounts() -> None:
    """Accounts and API tokens."""


@accounts.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--producer-id", type=int, default=None)
@click.option(
    "--province", "province_code", default=None, help="Office/inspector province code; none = central"
)
@click.option(
    "--password-prompt",
    is_flag=True,
    help="Ask for the password (typed twice, not shown); without it a one-time code is printed",
)
@click.option("--token/--no-token", default=False, help="Also print a first API token (shown once)")
@pass_ctx
@handles_errors
def accounts_create(
    ctx: Context,
    name: str,
    role: str,
    producer_id: int | None,
    province_code: str | None,
    password_prompt: bool,
    token: bool,
) -> None:
    """Create an account: with a password typed now, or a one-time code to sign in and change."""
    from stamp_service.services import accounts as svc

    fields: dict[str, Any] = {
        "name": name,
        "role": Role(role),
        "producer_id": producer_id,
        "province_code": province_code,
    }
    with ctx.session() as session:
        if password_prompt:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
            account = svc.create_account(session, SYSTEM, password=password, **fields)
            click.echo(f"account {account.id} ({role}) created; it signs in with the password just typed")
        else:
            account, code = svc.create_account_with_code(session, SYSTEM, **fields)
            click.echo(
                f"account {account.id} ({role}) created; one-time code (shown once; "
                f"a new password is chosen at the first sign-in):\n{code}"
            )
        if token:
            issued = svc.issue_token(session, SYSTEM, account_id=account.id, label="cli")
            click.echo(f"API token (shown once, expires {issued.expires_at:%Y-%m-%d}):\n{issued.token}")


@accounts.command("set-password")
@click.argument("account_id", type=int)
@pass_ctx
@handles_errors
def accounts_set_password(ctx: Context, account_id: int) -> None:
    """Set an account's password (typed twice, not shown)."""
    from stamp_service.services import accounts as svc

    password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with ctx.session() as session:
        svc.set_password(session, SYSTEM, account_id, password)
    click.echo(f"password of account {account_id} set")


@accounts.command("token")
@click.argument("account_id", type=int)
@click.option("--label", default="cli")
@click.option("--days", type=int, default=None, help="Lifetime in days (default: the role's maximum)")
@pass_ctx
@handles_errors
def accounts_token(ctx: Context, account_id: int, label: str, days: int | None) -> None:
    """Issue another API token for an account (shown once)."""
    from stamp_service.services import accounts as svc

    with ctx.session() as session:
        issued = svc.issue_token(
            session,
            SYSTEM,
            account_id=account_id,
            label=label,
            days=days,
            max_days=ctx.settings.token_max_days,
        )
    click.echo(issued.token)


@accounts.command("tokens")
@click.argument("account_id", type=int)
@pass_ctx
@handles_errors
def accounts_tokens(ctx: Context, account_id: int) -> None:
    """List an account's tokens: id, prefix, kind, label, expiry, state."""
    from stamp_service.services import accounts as svc

    with ctx.session() as session:
        for t in svc.account_tokens(session, SYSTEM, account_id):
            expires = f"{t.expires_at:%Y-%m-%d %H:%M}Z" if t.expires_at else "never"
            state = "revoked" if t.revoked_at else "active"
            click.echo(f"{t.id}\t{t.prefix}…\t{t.kind}\t{t.label or '-'}\texpires {expires}\t{state}")


@accounts.command("revoke-token")
@click.argument("token_id", type=int)
@click.option("--reason", default=None)
@pass_ctx
@handles_errors
def accounts_revoke_token(ctx: Context, token_id: int, reason: str | None) -> None:
    """Revoke an API token at once."""
    from stamp_service.services import accounts as svc

    with ctx.session() as session:
        svc.revoke_token(session, SYSTEM, token_id, reason=reason)
    click.echo(f"token {token_id} revoked")


@main.group()
def reference() -> None:
    """Reference data: product groups, administrative units."""


@reference.command("load")
@pass_ctx
@handles_errors
def reference_load(ctx: Context) -> None:
    """Load the built-in product groups and demo administrative units."""
    from stamp_service.services import reference as svc

    with ctx.session() as session:
        svc.load_builtin(session, SYSTEM)
    click.echo("reference data loaded")


@reference.command("load-units")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
@handles_errors
def reference_load_units(ctx: Context, csv_file: Path) -> None:
    """Load the official administrative unit list (CSV, see stamp_service/reference/README.md)."""
    from stamp_service.services import reference as svc

    with ctx.session() as session:
        count = svc.load_units(session, SYSTEM, csv_file)
    click.echo(f"{count} administrative units loaded")


@main.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@pass_ctx
@handles_errors
def audit_verify(ctx: Context) -> None:
    """Check every entry's hash chain; report the first broken entry."""
    from stamp_service.services.audit import verify_chain

    with ctx.session() as session:
        report = verify_chain(session)
    if report.ok:
        click.echo(f"audit log intact: {report.entries} entries")
    else:
        fail(
            f"audit log broken at entry {report.first_broken_id}: {report.problem} "
            f"({report.entries} entries before it are intact)",
            code=1,
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, envvar="PORT", default=8000, show_default=True)
@click.option(
    "--workers",
    type=int,
    envvar="WEB_CONCURRENCY",
    default=None,
    help="gunicorn workers (embedded default: 1 worker, 8 threads)",
)
@click.option(
    "--demo/--no-demo",
    default=None,
    help="migrate and load demo data first (default: on for the embedded SQLite)",
)
@pass_ctx
@handles_errors
def serve(ctx: Context, host: str, port: int, workers: int | None, demo: bool | None) -> None:
    """Run the service with gunicorn."""
    from stamp_service.logs import configure_logging
    from stamp_service.serve import prepare_embedded, prepare_start, run_gunicorn

    settings = ctx.settings
    configure_logging(json_format=settings.log_json)
    if demo is None:
        demo = settings.is_embedded
    ctx.runtime.services["listen_url"] = f"http://{host}:{port}"  # for the demo's "open it here" link
    for line in (prepare_embedded if demo else prepare_start)(ctx.runtime):
        click.echo(line)
    embedded = settings.is_embedded and not settings.redis_url
    click.echo(f"\nOCOP stamp service listening on http://{host}:{port}/  (API docs: /api/docs)")
    click.echo(f"office console: http://{host}:{port}/console/  producers: /producer/  sign in: /signin\n")
    run_gunicorn(
        host=host, port=port, workers=workers or (1 if embedded else 2), threads=8 if embedded else 4
    )


def _register_feature_commands() -> None:
    """Feature packages add their command groups here (keys, issuance, revocation, demo)."""
    import importlib

    for name in (
        "stamp_service.cli_demo",
        "stamp_service.cli_keys",
        "stamp_service.cli_issuance",
        "stamp_service.cli_revocation",
        "stamp_service.cli_scans",
        "stamp_service.cli_notify",
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(main)


_register_feature_commands()
