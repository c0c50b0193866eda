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
    """Yield UTF-8 CSV (RFC 4180, CRLF) with columns serial, url[, pin], in input order.

    `excel_bom` prefixes a byte-order mark so that spreadsheet programs read UTF-8 correctly.
    A label without a PIN gets an empty pin cell.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["serial", "url", "pin"] if include_pin else ["serial", "url"])
    prefix = "\ufeff" if excel_bom else ""
    for count, label in enumerate(labels, start=1):
        if include_pin:
            writer.writerow([label.serial_display, label.url, label.pin or ""])
        else:
            writer.writerow([label.serial_display, label.url])
        if count % ROWS_PER_CHUNK == 0:
            yield (prefix + buf.getvalue()).encode("utf-8")
            prefix = ""
            buf.seek(0)
            buf.truncate()
    if buf.tell() or prefix:
        yield (prefix + buf.getvalue()).encode("utf-8")
