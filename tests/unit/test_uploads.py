"""The upload checks (stamp_service.uploads): real images re-encoded without metadata, inert PDFs."""

from __future__ import annotations

import io
import struct
import zlib

import pikepdf
import pytest
from PIL import Image

from stamp_service import uploads
from stamp_service.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 20_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels, all black: about 48 KB for 20,000 x 20,000."""
    row = b"\0" * (1 + side // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def photo(fmt: str = "JPEG", size: tuple[int, int] = (40, 20), **save: object) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))  # left half blue: shows orientation
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x013B] = "Nguyen Van An"  # Artist
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (18.0, 20.0, 30.0), 3: "E", 4: (105.0, 54.0, 1.0)})
    return exif


def test_a_decompression_bomb_is_refused_before_decoding():
    bomb = png_bomb()
    assert len(bomb) < uploads.MAX_IMAGE_BYTES  # small enough to pass the byte limit (issue: 48 KB)
    with pytest.raises(ValidationFailed) as info:
        uploads.check_image(bomb, "image/png")
    assert "pixels" in info.value.errors[0]["message"]
    with pytest.raises(ValidationFailed) as info:
        uploads.check_image(png_bomb(5_000), "image/png")  # under Pillow's own limit, over ours
    assert "5000 x 5000" in info.value.errors[0]["message"]


def test_location_and_owner_metadata_are_removed_and_the_orientation_kept():
    original = photo("JPEG", exif=gps_exif(orientation=6).tobytes())  # 6: rotate 90° clockwise to view
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the upload does carry GPS
    checked = uploads.check_image(original, "image/jpeg")
    stored = Image.open(io.BytesIO(checked.data))
    assert stored.format == "JPEG" and not stored.getexif() and "exif" not in stored.info
    assert b"Exif" not in checked.data and b"Nguyen" not in checked.data and b"PhoneMaker" not in checked.data
    assert stored.size == (20, 40) == (checked.width, checked.height)  # turned upright
    top_left = stored.convert("RGB").getpixel((2, 2))
    assert top_left[2] > 150  # the blue half is now on top


@pytest.mark.parametrize("fmt,media_type", [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_metadata_and_trailing_bytes_are_dropped(fmt, media_type):
    from PIL import PngImagePlugin

    extra: dict[str, object] = {"exif": gps_exif().tobytes()}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "<script>alert(1)</script>")
        extra["pnginfo"] = info
    upload = photo(fmt, **extra) + b"<html><script>alert(document.domain)</script></html>"
    checked = uploads.check_image(upload, media_type)
    stored = Image.open(io.BytesIO(checked.data))
    assert stored.format == fmt and not stored.getexif()
    assert b"script" not in checked.data and b"Exif" not in checked.data
    assert stored.convert("RGB").getpixel((30, 10))[0] > 150


@pytest.mark.parametrize(
    ("data", "media_type", "error"),
    [
        (b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "image/png", ValidationFailed),
        (b"\xff\xd8\xff<html><body onload=alert(1)>", "image/jpeg", ValidationFailed),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\0" * 8, "image/webp", ValidationFailed),
        (photo("PNG"), "image/jpeg", ValidationFailed),  # a real PNG declared as JPEG
        (photo("GIF"), "image/png", ValidationFailed),
        (photo("PNG")[:-30], "image/png", ValidationFailed),  # truncated
        (b"", "image/png", ValidationFailed),
        (photo("GIF"), "image/gif", UnsupportedMediaType),
        (b"<svg onload=alert(1)>", "image/svg+xml", UnsupportedMediaType),
        (b"\xff\xd8\xff" + b"\0" * uploads.MAX_IMAGE_BYTES, "image/jpeg", PayloadTooLarge),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused(data, media_type, error):
    with pytest.raises(error):
        uploads.check_image(data, media_type)


def test_an_animated_image_is_refused():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(ValidationFailed):
        uploads.check_image(out.getvalue(), "image/webp")


# --- PDFs --------------------------------------------------------------------------------------


def pdf(mutate=None) -> bytes:  # type: ignore[no-untyped-def]
    document = pikepdf.new()
    document.add_blank_page(page_size=(595, 842))
    if mutate:
        mutate(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _open_action_js(d: pikepdf.Pdf) -> None:
    d.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))


def _launch_on_click(d: pikepdf.Pdf) -> None:
    action = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe"))
    link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 10, 10], A=action
    )
    d.pages[0].Annots = d.make_indirect(pikepdf.Array([d.make_indirect(link)]))


def _page_open_action(d: pikepdf.Pdf) -> None:
    d.pages[0].AA = pikepdf.Dictionary(
        O=pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("x"))
    )


def _names_tree_js(d: pikepdf.Pdf) -> None:
    js = d.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(2)")))
    d.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(Names=[pikepdf.String("a"), js]))


def _attachment(d: pikepdf.Pdf) -> None:
    d.attachments["run.exe"] = pikepdf.AttachedFileSpec(d, b"MZ...")


def test_a_plain_pdf_is_accepted_unchanged():
    data = pdf()
    checked = uploads.check_pdf(data)
    assert checked.data == data and checked.pages == 1


@pytest.mark.parametrize(
    "mutate", [_open_action_js, _launch_on_click, _page_open_action, _names_tree_js, _attachment]
)
def test_pdfs_with_javascript_launch_or_attachments_are_refused(mutate):
    with pytest.raises(ValidationFailed) as info:
        uploads.check_pdf(pdf(mutate))
    assert "active content" in info.value.errors[0]["message"]


def test_javascript_in_an_object_nothing_refers_to_is_refused_too():
    """An incremental update that adds a script object and no reference to it."""
    document = pikepdf.new()
    document.add_blank_page()
    out = io.BytesIO()
    document.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    base = out.getvalue()
    root = document.Root.objgen[0]
    size = max(o.objgen[0] for o in document.objects) + 1
    previous = int(base[base.rindex(b"startxref") + 9 :].split()[0])
    obj = f"{size} 0 obj\n<< /S /JavaScript /JS (app.alert(3)) >>\nendobj\n".encode()
    xref_at = len(base) + len(obj)
    update = (
        f"xref\n0 1\n0000000000 65535 f \n{size} 1\n{len(base):010d} 00000 n \n"
        f"trailer\n<< /Size {size + 1} /Root {root} 0 R /Prev {previous} >>\nstartxref\n{xref_at}\n%%EOF\n"
    ).encode()
    with pytest.raises(ValidationFailed) as info:
        uploads.check_pdf(base + obj + update)
    assert "active content (JS)" in info.value.errors[0]["message"]


def test_fake_encrypted_empty_and_oversized_pdfs_are_refused():
    with pytest.raises(ValidationFailed):
        uploads.check_pdf(b"%PDF-1.7\n<html><script>alert(1)</script></html>")
    with pytest.raises(ValidationFailed):
        uploads.check_pdf(b"<html>" + pdf())  # a PDF starts with its header
    document = pikepdf.new()
    document.add_blank_page()
    out = io.BytesIO()
    document.save(out, encryption=pikepdf.Encryption(owner="o", user="u"))
    with pytest.raises(ValidationFailed):
        uploads.check_pdf(out.getvalue())
    with pytest.raises(PayloadTooLarge):
        uploads.check_pdf(pdf() + b"%" * uploads.MAX_PDF_BYTES)
    with pytest.raises(UnsupportedMediaType):
        uploads.check_pdf(pdf(), "text/html")
