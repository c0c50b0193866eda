"""Small product images: the declared media type must match the file's magic bytes."""

from __future__ import annotations

MAX_IMAGE_BYTES = 100 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


def sniff_image_type(data: bytes) -> str | None:
    """The media type the bytes really are (JPEG, PNG or WebP), or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
