"""CSV manifest for print houses with variable-data printing: one row per stamp, streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from stamp_service.render.labels import LabelData

ROWS_PER_CHUNK = 2000


def render_manifest(
    labels: Iterable[LabelData], *, include_pin: bool = False, excel_bom: bool = False
) -> Iterator[bytes]:
    """Yield UTF-8 CSV (RFC 4180, CRLF) with columns seq, serial, url[, pin], in input order.

    `seq` is the number printed on the label ("STT 12"), by which a spoiled range is voided.
    `excel_bom` prefixes a byte-order mark so that spreadsheet programs read UTF-8 correctly.
    A label without a PIN gets an empty pin cell, one without a sequence number an empty seq cell.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["seq", "serial", "url", "pin"] if include_pin else ["seq", "serial", "url"])
    prefix = "\ufeff" if excel_bom else ""
    for count, label in enumerate(labels, start=1):
        seq = "" if label.seq is None else label.seq
        if include_pin:
            writer.writerow([seq, label.serial_display, label.url, label.pin or ""])
        else:
            writer.writerow([seq, label.serial_display, label.url])
        if count % ROWS_PER_CHUNK == 0:
            yield (prefix + buf.getvalue()).encode("utf-8")
            prefix = ""
            buf.seek(0)
            buf.truncate()
    if buf.tell() or prefix:
        yield (prefix + buf.getvalue()).encode("utf-8")
