"""What a printed stamp shows, and helpers every print format shares."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice

import numpy as np

from stamp_service.render.qr import QrMatrix, encode_batch

#: Labels encoded per numpy batch: small batches stay in CPU cache (measured fastest at 24-32).
QR_BATCH = 32


@dataclass(frozen=True, slots=True)
class LabelData:
    """One stamp to print. `url` is the upper-case alphanumeric-mode QR content.

    `seq` is the stamp's number within its request (printed so that a spoiled range can be voided);
    `lot_code` and `expiry` are printed where the label has room.
    """

    url: str
    serial_display: str
    stars: int
    product_name: str
    host: str
    pin: str | None = None
    seq: int | None = None
    lot_code: str | None = None
    expiry: date | None = None


def with_matrices(
    labels: Iterable[LabelData], *, error: str = "m", batch_size: int = QR_BATCH
) -> Iterator[tuple[LabelData, QrMatrix]]:
    """Pair each label with its QR matrix, encoding in small batches (lazy, flat memory)."""
    it = iter(labels)
    while batch := list(islice(it, batch_size)):
        yield from zip(batch, encode_batch([lab.url for lab in batch], error=error), strict=True)


def star_points(cx: float, cy: float, radius: float) -> list[tuple[float, float]]:
    """The ten corners of a five-pointed star (y grows downwards, first point up)."""
    inner = radius * 0.382
    pts = []
    for k in range(10):
        r = radius if k % 2 == 0 else inner
        angle = math.pi * k / 5
        pts.append((cx + r * math.sin(angle), cy - r * math.cos(angle)))
    return pts


def row_runs(modules: np.ndarray) -> list[tuple[int, int, int]]:
    """Dark runs of a QR matrix as (row, first column, length), row by row."""
    n = modules.shape[1]
    padded = np.zeros((modules.shape[0], n + 2), dtype=np.int8)
    padded[:, 1:-1] = modules
    d = np.diff(padded, axis=1)
    rows, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)
    return list(zip(rows.tolist(), starts.tolist(), (ends - starts).tolist(), strict=True))


MAX_STARS = 5
