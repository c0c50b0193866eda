"""Checking the files users upload, before anything is stored: the one place every upload path uses.

Images (product photos now, producers' trace-event photos later) are opened with Pillow, never
trusted by their header: the real format must be the declared one, the pixel count is bounded
before any pixel is decoded (a 48 KB PNG can claim 20,000 x 20,000 pixels), the whole image is
decoded, and it is **re-encoded**: what is stored holds only pixels Pillow wrote, with no EXIF
(location, camera, owner), XMP, ICC or text chunks, and nothing appended (an HTML page behind a
PNG header does not survive). PDFs (trace-event documents) are parsed with qpdf (pikepdf): a real,
unencrypted PDF under the size and page limits, with no JavaScript, launch, embedded-file or other
active content anywhere in the file.

Errors are the service's own: UnsupportedMediaType (415) for an undeclared type, PayloadTooLarge
(413), ValidationFailed (422, field ``(body)``) for a file that is not what it claims.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PilImage

from stamp_service.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

MAX_IMAGE_BYTES = 100 * 1024
# 16.7 megapixels: far above any product photo, far below what a decoder should be made to
# allocate for one request (4 bytes a pixel: 64 MB).
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_IMAGE_SIDE = 8192
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
JPEG_QUALITY = 88

MAX_PDF_BYTES = 10 * 1024 * 1024
MAX_PDF_PAGES = 200
PDF_TYPE = "application/pdf"
# Names that make a PDF do something when opened or clicked (ISO 32000-1 §12.6, §7.11.4, §13):
# any of them anywhere refuses the file. Plain links (/URI) and page jumps (/GoTo) are allowed.
_ACTIVE_NAMES = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/Launch",
        "/AA",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/RichMedia",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/XFA",
        "/Sound",
        "/Movie",
    }
)


@dataclass(frozen=True)
class CheckedImage:
    """An image as it may be stored: re-encoded, metadata-free bytes of the declared type."""

    media_type: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class CheckedPdf:
    data: bytes
    pages: int


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed([{"field": "(body)", "message": message}])


def _check_size(data: bytes, limit: int) -> None:
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit // 1024} KB")
    if not data:
        raise _refuse("the file is empty")


def check_image(
    data: bytes, media_type: str, *, max_bytes: int = MAX_IMAGE_BYTES, fit: int | None = None
) -> CheckedImage:
    """The image re-encoded as ``media_type``; raises if the bytes are not such an image.

    ``fit``: downsize (keeping the proportions) so neither side exceeds it, for phone photos.
    """
    from PIL import Image, ImageOps

    if media_type not in IMAGE_TYPES:
        raise UnsupportedMediaType(f"send the image as one of {', '.join(IMAGE_TYPES)}")
    _check_size(data, max_bytes)
    expected = _PILLOW_FORMATS[media_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # ``formats``: Pillow tries only the declared decoder, so an HTML page, an SVG or a
            # GIF renamed .png is refused instead of being recognised as something else.
            with Image.open(io.BytesIO(data), formats=[expected]) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE:
                    raise _refuse(
                        f"the image is {width} x {height} pixels; at most {MAX_IMAGE_PIXELS:,} pixels "
                        f"and {MAX_IMAGE_SIDE} on a side"
                    )
                if getattr(image, "n_frames", 1) > 1:
                    raise _refuse("animated images are not accepted")
                image.load()  # decodes every pixel: a truncated or corrupt file fails here
                upright = ImageOps.exif_transpose(image)  # keep the orientation the EXIF gave
                pixels = _pixels_only(upright, media_type)
                if fit is not None and max(pixels.size) > fit:
                    pixels.thumbnail((fit, fit), Image.Resampling.LANCZOS)
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own, higher limit tripped while reading the header: same answer as ours.
        raise _refuse(f"the image has more than {MAX_IMAGE_PIXELS:,} pixels") from None
    except (OSError, SyntaxError, ValueError):
        raise _refuse(f"the bytes are not a readable {media_type} image") from None
    return CheckedImage(media_type, _encode(pixels, expected), pixels.width, pixels.height)


# Trace-event files from a phone: a photo of up to 10 MB (downsized to 2048 px), or a PDF.
MAX_TRACE_FILE_BYTES = 10 * 1024 * 1024
TRACE_PHOTO_SIDE = 2048
TRACE_FILE_TYPES = ("image/jpeg", "image/png", PDF_TYPE)


def check_trace_file(data: bytes, media_type: str) -> tuple[str, bytes]:
    """A trace-event photo or document as it may be stored: (media type, bytes); raises otherwise."""
    if media_type == PDF_TYPE:
        return PDF_TYPE, check_pdf(data, media_type).data
    if media_type not in TRACE_FILE_TYPES:
        raise UnsupportedMediaType(f"send a photo or document as one of {', '.join(TRACE_FILE_TYPES)}")
    image = check_image(data, media_type, max_bytes=MAX_TRACE_FILE_BYTES, fit=TRACE_PHOTO_SIDE)
    return image.media_type, image.data


def _pixels_only(image: PilImage, media_type: str) -> PilImage:
    """A new image holding only the pixels, in a mode the target format stores faithfully."""
    from PIL import Image

    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if media_type == "image/jpeg":
        mode = "L" if image.mode in ("1", "L") else "RGB"
    else:
        mode = "RGBA" if has_alpha else ("L" if image.mode in ("1", "L") else "RGB")
    # ``Image.new`` + ``paste`` copies pixels and nothing else (convert() would carry ``info``).
    clean = Image.new(mode, image.size)
    clean.paste(image.convert(mode))
    return clean


def _encode(image: PilImage, pillow_format: str) -> bytes:
    out = io.BytesIO()
    if pillow_format == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif pillow_format == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=JPEG_QUALITY, method=4)
    return out.getvalue()


def check_pdf(data: bytes, media_type: str = PDF_TYPE) -> CheckedPdf:
    """The PDF unchanged if it is a real, inert PDF; raises otherwise."""
    import pikepdf

    if media_type != PDF_TYPE:
        raise UnsupportedMediaType(f"send the document as {PDF_TYPE}")
    _check_size(data, MAX_PDF_BYTES)
    if not data.startswith(b"%PDF-"):  # qpdf would search further in; a PDF starts with its header
        raise _refuse("the bytes are not a PDF")
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if pdf.is_encrypted:
                raise _refuse("encrypted PDFs cannot be checked and are not accepted")
            pages = len(pdf.pages)
            if not 1 <= pages <= MAX_PDF_PAGES:
                raise _refuse(f"a document has 1 to {MAX_PDF_PAGES} pages, this one has {pages}")
            found = _active_content(pdf)
    except ValidationFailed:
        raise
    except pikepdf.PasswordError:
        raise _refuse("encrypted PDFs cannot be checked and are not accepted") from None
    except (pikepdf.PdfError, ValueError, RecursionError):
        raise _refuse("the bytes are not a readable PDF") from None
    if found:
        raise _refuse(
            f"the PDF has active content ({found}): JavaScript, actions and attachments are refused"
        )
    return CheckedPdf(data, pages)


def _active_content(pdf: object) -> str | None:
    """The first active-content name anywhere in the file, or None.

    Every indirect object is visited (reachable or not), and within each, every direct
    dictionary and array (an ``/OpenAction`` is often written inline in the catalogue).
    """
    import pikepdf

    assert isinstance(pdf, pikepdf.Pdf)
    for obj in pdf.objects:
        found = _active_in(obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj, depth=0)
        if found:
            return found
    return None


def _active_in(obj: object, *, depth: int) -> str | None:
    import pikepdf

    if depth > 64:  # qpdf parses deeper nesting; nothing legitimate needs it
        return "nesting"
    if isinstance(obj, pikepdf.Dictionary):
        for key, value in obj.items():
            if key in _ACTIVE_NAMES:
                return key.lstrip("/")
            if isinstance(value, pikepdf.Name) and str(value) in _ACTIVE_NAMES:
                return str(value).lstrip("/")
            if isinstance(value, pikepdf.Dictionary | pikepdf.Array) and not value.is_indirect:
                found = _active_in(value, depth=depth + 1)
                if found:
                    return found
    elif isinstance(obj, pikepdf.Array):
        for value in obj:
            if isinstance(value, pikepdf.Name) and str(value) in _ACTIVE_NAMES:
                return str(value).lstrip("/")
            if isinstance(value, pikepdf.Dictionary | pikepdf.Array) and not value.is_indirect:
                found = _active_in(value, depth=depth + 1)
                if found:
                    return found
    return None
