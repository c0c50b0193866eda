"""Render benchmark: QR matrices and streamed PDF label sheets (prints numbers, asserts nothing).

    .venv/bin/python bench/render.py            # full run (100,000-label memory check)
    .venv/bin/python bench/render.py --big 20000  # smaller memory check

All figures come from the same run; ratios are against segno's automatic mask choice.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import string
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date

import segno

from stamp_service.render.labels import LabelData
from stamp_service.render.pdf import DEFAULT_PRESET, PRESETS, render_pdf
from stamp_service.render.qr import encode_batch

B32 = string.ascii_uppercase + "234567"
HOST = "TEM.OCOP.LOCAL"


def urls(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"HTTPS://{HOST}/V/" + "".join(rng.choices(B32, k=140)) for _ in range(n)]


def labels(n: int, seed: int = 2) -> Iterator[LabelData]:
    """Generated lazily so that the memory figure measures the renderer, not the input list."""
    rng = random.Random(seed)
    for i in range(n):
        yield LabelData(
            url=f"HTTPS://{HOST}/V/" + "".join(rng.choices(B32, k=140)),
            serial_display=f"{i:04X}-7K3M-QX9P-2D",
            stars=3 + i % 3,
            product_name="Mật ong bạc hà Đồng Văn – loại đặc biệt",
            host=HOST.lower(),
            seq=i + 1,
            lot_code="LO-2026-001",
            expiry=date(2027, 12, 31),
        )


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def bench_segno(n: int, mask: int | None) -> float:
    data = urls(n, seed=3)
    start = time.perf_counter()
    for u in data:
        segno.make_qr(u, error="m", boost_error=False, mode="alphanumeric", mask=mask).matrix  # noqa: B018
    return rate(n, time.perf_counter() - start)


def bench_fast(n: int, batch: int = 32) -> float:
    data = urls(n, seed=4)
    start = time.perf_counter()
    for i in range(0, n, batch):
        encode_batch(data[i : i + batch])
    return rate(n, time.perf_counter() - start)


def bench_pdf(n: int, preset: str, level: int) -> tuple[float, float, float]:
    """Labels per wall-clock second, per CPU-second of this process (steadier on a shared machine),
    and bytes per label."""
    size = 0
    start, cpu = time.perf_counter(), time.process_time()
    for chunk in render_pdf(labels(n), PRESETS[preset], compress_level=level):
        size += len(chunk)
    return rate(n, time.perf_counter() - start), rate(n, time.process_time() - cpu), size / n


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big", type=int, default=100_000, help="labels in the memory run")
    parser.add_argument("--pdf", type=int, default=5_000, help="labels in the PDF speed run")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, segno {segno.__version__}, cpus {os.cpu_count()}, one process")

    base = bench_segno(150, None)
    fixed = bench_segno(400, 0)
    fast = bench_fast(8_000)
    print(f"QR matrix, segno automatic mask (baseline) : {base:9.0f} codes/s")
    print(f"QR matrix, segno fixed mask (no scoring)   : {fixed:9.0f} codes/s  ({fixed / base:5.1f}x)")
    print(f"QR matrix, fast path (same mask as segno)  : {fast:9.0f} codes/s  ({fast / base:5.1f}x)")

    bench_pdf(200, DEFAULT_PRESET, 1)  # warm caches (font, tables)
    for preset in (DEFAULT_PRESET, "a4-4x10-48.5x25.4-diecut"):
        for level in (1, 6):
            speed, per_cpu, per_label = bench_pdf(args.pdf, preset, level)
            print(
                f"PDF {preset:24s} zlib {level}, {args.pdf} labels: {speed:7.0f} labels/s "
                f"({speed / base:5.1f}x baseline), {per_cpu:7.0f} labels/CPU-s, {per_label:6.0f} bytes/label"
            )

    rss_before = peak_rss_mb()
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        for chunk in render_pdf(labels(args.big), PRESETS[DEFAULT_PRESET]):
            sink.write(chunk)
    elapsed = time.perf_counter() - start
    print(
        f"PDF of {args.big} labels to /dev/null: {elapsed:.1f} s ({rate(args.big, elapsed):.0f} labels/s), "
        f"peak RSS of the whole process {peak_rss_mb():.0f} MB (was {rss_before:.0f} MB before)"
    )

    small = min(args.big, 20_000)
    tracemalloc.start()
    with open(os.devnull, "wb") as sink:
        for chunk in render_pdf(labels(small), PRESETS[DEFAULT_PRESET]):
            sink.write(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"tracemalloc peak while streaming {small} labels: {peak / 2**20:.1f} MB (Python + numpy allocations)"
    )


if __name__ == "__main__":
    main()
