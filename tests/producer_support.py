"""Helpers for the producer pages' tests: two producers with certified products, signed-in clients,
and the hostile files of the upload tests."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from stamp_service.domain.access import Role
from stamp_service.storage.models.registry import Lot, Producer, Product
from tests.factories import make_certificate, make_lot, make_producer, make_product
from tests.people_support import make_person, sign_in


@dataclass(frozen=True)
class World:
    producer: Producer
    product: Product
    lot: Lot
    account: str


def producer_world(session: Session, name: str, *, lot_quantity: int = 500) -> World:
    producer = make_producer(session)
    product = make_product(session, producer.id)
    make_certificate(session, product.id)
    lot = make_lot(session, product.id, quantity=lot_quantity)
    make_person(session, Role.PRODUCER, name=name, producer_id=producer.id)
    return World(producer, product, lot, name)


def signed_in_client(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    resp = sign_in(client, name)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def jpeg_photo(width: int = 3000, height: int = 2000) -> bytes:
    """A phone-sized JPEG with EXIF GPS data (which the stored copy must not keep)."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (40, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825)[2] = (18.0, 20.0, 0.0)  # GPSInfo latitude
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70, exif=exif)
    return out.getvalue()


def png_bomb(side: int = 20_000) -> bytes:
    """A small PNG whose header claims ``side`` x ``side`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * side
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def html_as_png() -> bytes:
    return b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>"


def pdf(*, javascript: bool = False) -> bytes:
    import pikepdf

    doc = pikepdf.new()
    doc.add_blank_page()
    if javascript:
        action = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
        doc.Root.OpenAction = doc.make_indirect(action)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
