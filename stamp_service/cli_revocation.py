"""``stamp-service revocation ...``: the office's revocation actions, the expiry notice and the bundle."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from stamp_service.cli import Context, handles_errors, pass_ctx
from stamp_service.domain.access import SYSTEM


def _decision(number: str | None, decided_on: str | None, authority: str | None) -> dict[str, Any] | None:
    given = [v for v in (number, decided_on, authority) if v]
    if not given:
        return None
    if len(given) != 3:
        raise click.UsageError("a decision needs --decision-number, --decided-on and --authority")
    return {"number": number, "decided_on": decided_on, "authority": authority}


def _body(model: Any, data: dict[str, Any]) -> Any:
    """Validate like the API does; a bad option is a one-line error, not a traceback."""
    import json

    from pydantic import ValidationError

    from stamp_service.errors import ValidationFailed

    try:
        return model.model_validate_json(json.dumps(data, ensure_ascii=False))
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(options)", "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        raise ValidationFailed(errors) from None


def decision_options(required: bool):  # type: ignore[no-untyped-def]
    def wrap(fn):  # type: ignore[no-untyped-def]
        fn = click.option("--authority", required=required, help="e.g. 'UBND tỉnh Hà Tĩnh'")(fn)
        fn = click.option("--decided-on", required=required, help="YYYY-MM-DD")(fn)
        fn = click.option("--decision-number", required=required, help="e.g. 3763/QĐ-UBND")(fn)
        return click.option("--reason", required=True, help="why (audited, shown on scans)")(fn)

    return wrap


_LOT_HELP = {
    "recall": "Recall a lot: its stamps are revoked and its issuance stops.",
    "lift-recall": "Lift a lot's recall.",
}


def _lot_command(group: click.Group, name: str, service: str, done: str, unchanged: str) -> None:
    """``revocation recall`` / ``lift-recall LOT_ID``: the same options, one service call each."""

    @group.command(name, help=_LOT_HELP[name])
    @click.argument("lot_id", type=int)
    @decision_options(required=False)
    @pass_ctx
    @handles_errors
    def command(
        ctx: Context,
        lot_id: int,
        reason: str,
        decision_number: str | None,
        decided_on: str | None,
        authority: str | None,
    ) -> None:
        from stamp_service.schemas.revocation import RecallIn
        from stamp_service.services import revocation as svc

        body = _body(
            RecallIn, {"reason": reason, "decision": _decision(decision_number, decided_on, authority)}
        )
        with ctx.session() as session:
            result = getattr(svc, service)(session, SYSTEM, lot_id, body)
            click.echo(f"lot {lot_id} {done if result.changed else unchanged}")


def register(main: click.Group) -> None:
    @main.group()
    def revocation() -> None:
        """Withdraw or reduce stars, recall lots, void stamps, expiry notices, the status bundle."""

    @revocation.command("withdraw")
    @click.argument("certificate_id", type=int)
    @decision_options(required=True)
    @pass_ctx
    @handles_errors
    def withdraw(
        ctx: Context, certificate_id: int, reason: str, decision_number: str, decided_on: str, authority: str
    ) -> None:
        """Withdraw a certificate's stars: every stamp of the product is revoked."""
        from stamp_service.schemas.revocation import WithdrawalIn
        from stamp_service.services import revocation as svc

        body = _body(
            WithdrawalIn, {"reason": reason, "decision": _decision(decision_number, decided_on, authority)}
        )
        with ctx.session() as session:
            result = svc.withdraw_certificate(session, SYSTEM, certificate_id, body)
            state = "withdrawn" if result.changed else "already withdrawn (nothing changed)"
            click.echo(f"certificate {result.certificate.id} {state}")
            if result.stopped_requests:
                click.echo(f"stopped stamp requests: {', '.join(map(str, result.stopped_requests))}")

    @revocation.command("reduce")
    @click.argument("certificate_id", type=int)
    @click.option("--stars", type=click.IntRange(1, 4), required=True)
    @decision_options(required=True)
    @pass_ctx
    @handles_errors
    def reduce(
        ctx: Context,
        certificate_id: int,
        stars: int,
        reason: str,
        decision_number: str,
        decided_on: str,
        authority: str,
    ) -> None:
        """Reduce the stars (a new certificate supersedes CERTIFICATE_ID)."""
        from stamp_service.schemas.revocation import ReductionIn
        from stamp_service.services import revocation as svc

        body = _body(
            ReductionIn,
            {"stars": stars, "reason": reason, "decision": _decision(decision_number, decided_on, authority)},
        )
        with ctx.session() as session:
            result = svc.reduce_stars(session, SYSTEM, certificate_id, body)
            verb = "recorded" if result.changed else "already recorded (nothing changed)"
            click.echo(f"certificate {result.certificate.id} with {result.certificate.stars} stars {verb}")

    @revocation.command("expiring")
    @click.option("--days", type=click.IntRange(0, 366), default=30, show_default=True)
    @click.option("--province", default=None, help="two-digit province code")
    @pass_ctx
    @handles_errors
    def expiring(ctx: Context, days: int, province: str | None) -> None:
        """Active certificates whose validity ends within DAYS days."""
        from stamp_service.schemas.revocation import ExpiringQuery
        from stamp_service.services import revocation as svc

        page = 1
        with ctx.session() as session:
            while True:
                query = ExpiringQuery.model_validate(
                    {"days": days, "province": province, "page": page, "per_page": 200}
                )
                result = svc.expiring_certificates(session, SYSTEM, query)
                for item in result.items:
                    click.echo(
                        f"{item.valid_until}  {item.days_left:>3} days  {item.decision_number:<16} "
                        f"{item.stars}*  {item.product_name} ({item.producer_name}, {item.province_code})"
                    )
                if page * result.per_page >= result.total:
                    break
                page += 1
        click.echo(f"{result.total} certificate(s) expire within {days} days of {date.today()}")

    _lot_command(revocation, "recall", "recall_lot", "recalled", "already recalled (nothing changed)")
    _lot_command(revocation, "lift-recall", "lift_recall", "recall lifted", "not recalled (nothing changed)")

    @revocation.command("void")
    @click.option("--serial", default=None, help="one stamp by its printed serial")
    @click.option("--request-id", type=int, default=None)
    @click.option("--seq-from", type=int, default=None)
    @click.option("--seq-to", type=int, default=None)
    @click.option("--reason-code", type=click.Choice(["lost", "spoiled", "copied", "other"]), required=True)
    @decision_options(required=False)
    @pass_ctx
    @handles_errors
    def void(
        ctx: Context,
        serial: str | None,
        request_id: int | None,
        seq_from: int | None,
        seq_to: int | None,
        reason_code: str,
        reason: str,
        decision_number: str | None,
        decided_on: str | None,
        authority: str | None,
    ) -> None:
        """Void one stamp (--serial) or slots --seq-from..--seq-to of --request-id."""
        from stamp_service.schemas.revocation import VoidIn
        from stamp_service.services import revocation as svc

        data = {
            "serial": serial,
            "request_id": request_id,
            "seq_from": seq_from,
            "seq_to": seq_to,
            "reason_code": reason_code,
            "reason": reason,
            "decision": _decision(decision_number, decided_on, authority),
        }
        body = _body(VoidIn, {k: v for k, v in data.items() if v is not None})
        with ctx.session() as session:
            result = svc.void_stamps(session, SYSTEM, body)
            for v in result.voids:
                click.echo(
                    f"void {v.id}: request {v.request_id} slots {v.seq_from}-{v.seq_to} ({v.reason_code})"
                )
            if not result.changed:
                click.echo("already voided (nothing changed)")

    @revocation.command("bundle")
    @pass_ctx
    @handles_errors
    def bundle(ctx: Context) -> None:
        """Build and store a fresh signed status bundle now (needs the active private key here)."""
        from stamp_service.crypto.keyring import for_runtime
        from stamp_service.services import bundle as svc
        from stamp_service.services.status_events import current_generation

        with ctx.session() as session:
            row = svc.build(
                session,
                for_runtime(ctx.runtime),
                generation=current_generation(ctx.runtime.store),
                force=True,
            )
            click.echo(f"status bundle {row.seq}: {row.size} bytes, signed by {row.kid}, sha256 {row.sha256}")

    @revocation.command("accept-proposal")
    @click.argument("finding_id", type=int)
    @decision_options(required=False)
    @pass_ctx
    @handles_errors
    def accept_proposal(
        ctx: Context,
        finding_id: int,
        reason: str,
        decision_number: str | None,
        decided_on: str | None,
        authority: str | None,
    ) -> None:
        """Carry out a finding's proposal (void, recall or withdrawal; a withdrawal needs its decision)."""
        from stamp_service.schemas.findings import ProposalDecisionIn
        from stamp_service.services import findings as svc

        body = _body(
            ProposalDecisionIn,
            {"reason": reason, "decision": _decision(decision_number, decided_on, authority)},
        )
        with ctx.session() as session:
            proposal = svc.accept_proposal(session, SYSTEM, finding_id, body)
        click.echo(f"proposal {proposal.id} ({proposal.action}) accepted: {proposal.outcome}")

    @revocation.command("reject-proposal")
    @click.argument("finding_id", type=int)
    @click.option("--reason", required=True, help="why the proposal is refused (audited)")
    @pass_ctx
    @handles_errors
    def reject_proposal(ctx: Context, finding_id: int, reason: str) -> None:
        """Refuse a finding's proposal with a reason; nothing is revoked."""
        from stamp_service.schemas.findings import ProposalDecisionIn
        from stamp_service.services import findings as svc

        with ctx.session() as session:
            proposal = svc.reject_proposal(
                session, SYSTEM, finding_id, _body(ProposalDecisionIn, {"reason": reason})
            )
        click.echo(f"proposal {proposal.id} ({proposal.action}) rejected")
