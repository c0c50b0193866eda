"""Embedded first-run step: genuine demo stamps a newcomer can scan from the screen.

Runs after ``stamp_service.demo`` (which loads the registry). On the first demo lot it
creates, once, a request of ``DEMO_STAMPS`` stamps with scratch PINs through the real
services (request with a fixed Idempotency-Key, approval, issuance, all audited), then on
every start prints the URL of one genuine stamp and writes the request's print sheet to
``var/demo-sheet.pdf`` (an audited download by the system account).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from stamp_service.crypto.keyring import for_runtime
from stamp_service.domain.access import SYSTEM
from stamp_service.domain.stamp_format import URL_PATH, stamp_url
from stamp_service.errors import ServiceError
from stamp_service.files import open_private
from stamp_service.render.pdf import render_pdf
from stamp_service.runtime import Runtime
from stamp_service.schemas.stamp_requests import ApproveIn, StampRequestIn
from stamp_service.services import issuance_jobs, minting, print_files, stamp_requests
from stamp_service.storage.models.stamps import Stamp, StampRequest

DEMO_KEY = "demo-stamps-v1"
DEMO_STAMPS = 24  # one sheet of the default 3x8 label stock
SHEET = "demo-sheet.pdf"


def prepare(runtime: Runtime) -> Iterator[str]:
    from stamp_service import demo

    settings = runtime.settings
    with runtime.session_factory() as session:
        lot_ids = demo.demo_lot_ids(session)
        if not lot_ids:
            return
        request = session.scalar(select(StampRequest).where(StampRequest.idempotency_key == DEMO_KEY))
        try:
            if request is None:
                created = stamp_requests.create_request(
                    session,
                    SYSTEM,
                    StampRequestIn(lot_id=lot_ids[0], quantity=DEMO_STAMPS, with_pin=True),
                    idempotency_key=DEMO_KEY,
                    spare_percent=settings.stamp_spare_percent,
                )
                request = stamp_requests.approve(
                    session,
                    SYSTEM,
                    created.request.id,
                    ApproveIn(reason="demo stamps"),
                    spare_percent=settings.stamp_spare_percent,
                    issuance=issuance_jobs.Issuance(runtime),
                )
                yield f"demo stamps issued: request {request.id}, {request.issued_count} stamps with PINs"
            elif request.state in minting.ISSUABLE_STATES:  # interrupted earlier: resume
                issuance_jobs.run_request(session, request.id, for_runtime(runtime))
                session.refresh(request)
            if request.state != "issued":
                yield f"demo stamps not available: request {request.id} is {request.state}"
                return
            download = print_files.open_download(
                session,
                SYSTEM,
                request.id,
                fmt="pdf",
                base_url=settings.public_base_url,
                options={"purpose": "demo sheet"},
            )
            path = settings.var_dir / SHEET
            labels = print_files.iter_labels(runtime.session_factory, download.labels, for_runtime(runtime))
            with open_private(path) as out:  # it holds scratch PINs
                for chunk in render_pdf(labels, title="OCOP demo stamps"):
                    out.write(chunk)
        except ServiceError as exc:  # e.g. the demo certificate has expired: say so, do not stop the start
            session.rollback()
            yield f"demo stamps not available: {exc.detail}"
            return
        first = session.scalar(
            select(Stamp).where(Stamp.request_id == request.id).order_by(Stamp.seq).limit(1)
        )
        assert first is not None
        token = minting.token_for(first)
    here = runtime.services.get("listen_url", "http://127.0.0.1:8000")  # set by `serve` (its --port)
    yield f"a genuine demo stamp: {stamp_url(settings.public_base_url, token)}"
    yield f"  open it here:       {here}{URL_PATH}{token}"
    yield f"  its print sheet ({download.labels.count} stamps with scratch PINs): {path}"
