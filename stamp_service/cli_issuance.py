"""``stamp-service issue REQUEST_ID`` and ``stamp-service worker``: issuance outside the web process."""

from __future__ import annotations

import click

from stamp_service.cli import Context, fail, handles_errors, pass_ctx


def register(main: click.Group) -> None:
    @main.command("issue")
    @click.argument("request_id", type=click.IntRange(1, 2**31 - 1))
    @click.option("--chunk", type=click.IntRange(1, 100_000), default=None, help="stamps per transaction")
    @pass_ctx
    @handles_errors
    def issue(ctx: Context, request_id: int, chunk: int | None) -> None:
        """Issue (or resume) an approved stamp request in this process, with a progress bar."""
        from stamp_service.crypto.keyring import for_runtime
        from stamp_service.errors import NotFound
        from stamp_service.services import minting
        from stamp_service.storage.models.stamps import StampRequest

        ring = for_runtime(ctx.runtime)
        with ctx.session() as session:
            request = session.get(StampRequest, request_id)
            if request is None:
                raise NotFound(f"no stamp request {request_id}")
            if request.state not in minting.ISSUABLE_STATES:
                fail(f"stamp request {request_id} is {request.state}; only approved requests are issued", 1)
            total = request.quantity_approved or 0
            with click.progressbar(length=total, label=f"request {request_id}", show_pos=True) as bar:
                bar.update(request.issued_count)
                seen = [request.issued_count]

                def progress(done: int, _total: int) -> None:
                    bar.update(done - seen[0])
                    seen[0] = done

                result = minting.issue_all(
                    session,
                    request_id=request_id,
                    keyring=ring,
                    progress=progress,
                    chunk_size=chunk or minting.DEFAULT_CHUNK,
                )
        if result.state == "stopped":
            fail(f"issuance stopped at {result.issued_total}/{result.quantity}: {request.stop_reason}", 1)
        click.echo(
            f"stamp request {request_id}: {result.issued_total}/{result.quantity} stamps, {result.state}"
        )

    @main.command("worker")
    @click.option("--burst", is_flag=True, help="stop when the queue is empty")
    @click.option(
        "--sweep-seconds",
        type=click.FloatRange(min=1.0),
        default=20.0,  # issuance_jobs.WORKER_SWEEP_SECONDS
        show_default=True,
        envvar="OCOP_WORKER_SWEEP_SECONDS",
        help="how often unfinished requests without a live job are queued again",
    )
    @pass_ctx
    @handles_errors
    def worker(ctx: Context, burst: bool, sweep_seconds: float) -> None:
        """Run background issuance: an RQ worker with Redis, else the in-process loop.

        Either way unfinished (approved/issuing) requests are picked up at start and every
        --sweep-seconds, e.g. one whose job could not be queued while Redis was down.
        """
        import time

        from stamp_service.services import issuance_jobs

        runtime = ctx.runtime
        issuance_jobs.bind_job_runtime(runtime)
        if runtime.settings.redis_url:
            from stamp_service.services import rq_worker

            queue = issuance_jobs.rq_queue(runtime.settings.redis_url)
            resumed = issuance_jobs.enqueue_pending(runtime, queue)
            click.echo(f"RQ worker on queue {queue.name}; {len(resumed)} unfinished request(s) queued again")
            sweeper = None
            if not burst:
                sweeper = issuance_jobs.Sweeper(runtime, queue, interval=sweep_seconds)
                sweeper.start()
            try:
                rq_worker.work(queue, burst=burst)
            finally:
                if sweeper is not None:
                    sweeper.stop()
            return
        thread = issuance_jobs.ThreadWorker(runtime)
        click.echo("no REDIS_URL: draining unfinished requests in this process")
        while True:
            count = thread.drain(everything=True)
            if burst:
                click.echo(f"{count} request(s) run")
                return
            time.sleep(sweep_seconds)
