"""`stamp-service revocation accept-proposal / reject-proposal` on the CLI's own SQLite database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from stamp_service.cli import main
from stamp_service.domain import serials
from stamp_service.domain.access import SYSTEM, Principal, Role
from stamp_service.schemas.findings import FindingIn, ProposalIn
from stamp_service.services import findings
from stamp_service.storage.models.findings import FindingProposal
from stamp_service.storage.models.stamps import StampVoid
from tests.factories import make_caller
from tests.integration.test_cli_revocation import cli_env  # noqa: F401  (the fixture)
from tests.stamp_factories import ensure_keyring, make_issued_batch


def _proposed(session, keys_dir, action: str) -> tuple[int, int]:
    batch = make_issued_batch(session, ensure_keyring(session, keys_dir), n=2)
    caller = make_caller(session, Role.INSPECTOR)
    inspector = Principal(account_id=caller.account_id, name="tt", role=Role.INSPECTOR)
    finding = findings.record_finding(
        session,
        inspector,
        FindingIn.model_validate_json(
            json.dumps(
                {
                    "client_id": uuid.uuid4().hex,
                    "serial": serials.format_serial(serials.from_db(batch.stamps[0].serial)),
                    "verdict": "suspicious",
                    "shop": "Chợ Hà Tĩnh",
                    "observed_at": datetime.now(UTC).isoformat(),
                }
            )
        ),
    ).finding
    proposal = ProposalIn.model_validate_json(json.dumps({"action": action, "reason": "tem sao chép"}))
    findings.propose(session, SYSTEM, finding.id, proposal)
    return finding.id, batch.request.id


def test_accept_and_reject_from_the_cli(cli_env, tmp_path):  # noqa: F811
    runner, factory = cli_env
    with factory() as session:
        accepted, request_id = _proposed(session, tmp_path / "keys", "void")
        rejected, _ = _proposed(session, tmp_path / "keys", "void")
    out = runner.invoke(main, ["revocation", "accept-proposal", str(accepted), "--reason", "tem giả mạo"])
    assert out.exit_code == 0, out.output
    assert "accepted" in out.output
    out = runner.invoke(main, ["revocation", "reject-proposal", str(rejected), "--reason", "tem thật"])
    assert out.exit_code == 0 and "rejected" in out.output
    again = runner.invoke(main, ["revocation", "reject-proposal", str(rejected), "--reason", "tem thật"])
    assert again.exit_code != 0 and "already rejected" in again.output
    with factory() as session:
        states = {p.finding_id: p.state for p in session.query(FindingProposal)}
        assert states == {accepted: "accepted", rejected: "rejected"}
        assert [v.request_id for v in session.query(StampVoid)] == [request_id]
