"""The fast QR path must produce exactly segno's automatic choice (mask and every module)."""

from __future__ import annotations

import base64
import random
import string

import numpy as np
import pytest
import segno
from segno import encoder as segno_encoder

from stamp_service.render import qr

B32 = string.ascii_uppercase + "234567"
HOST_CHARS = string.ascii_uppercase + string.digits + ".-"


def stamp_url(rng: random.Random, host_len: int, token_len: int = 140) -> str:
    host = "".join(rng.choice(HOST_CHARS) for _ in range(host_len))
    return f"HTTPS://{host}/V/" + "".join(rng.choice(B32) for _ in range(token_len))


def _segno_matrix(url: str) -> tuple[int, int, np.ndarray]:
    code = segno.make_qr(url, error="m", boost_error=False, mode="alphanumeric")
    return code.version, code.mask, np.array([list(r) for r in code.matrix], dtype=np.uint8)


def test_same_mask_and_matrix_as_segno_on_random_stamp_urls() -> None:
    rng = random.Random(20240601)
    urls = [stamp_url(rng, rng.randint(1, 20), rng.choice((112, 120, 128, 136, 140))) for _ in range(220)]
    ours = qr.encode_batch(urls)
    masks_seen = set()
    for url, got in zip(urls, ours, strict=True):
        version, mask, modules = _segno_matrix(url)
        assert (got.version, got.mask) == (version, mask), url
        assert np.array_equal(got.modules, modules), url
        masks_seen.add(mask)
    assert len(masks_seen) >= 6  # the sample really exercises the mask choice


@pytest.mark.parametrize("length", [1, 2, 3, 10, 25, 26, 47, 77, 78, 114, 122, 154, 171, 180, 250, 300, 500])
def test_other_lengths_and_version_boundaries_match_segno(length: int) -> None:
    rng = random.Random(length)
    content = "".join(rng.choice(B32 + "/:.") for _ in range(length))
    got = qr.encode(content)
    version, mask, modules = _segno_matrix(content)
    assert (got.version, got.mask) == (version, mask)
    assert np.array_equal(got.modules, modules)


def test_longest_host_fits_version_7_at_level_m() -> None:
    rng = random.Random(7)
    url = stamp_url(rng, 20)
    assert len(url) == 171
    got = qr.encode(url)
    assert got.version <= 7
    assert got.error == "M"
    assert got.size == got.version * 4 + 17
    assert (
        qr.version_for_length(171)
        == got.version
        == segno.make_qr(url, error="m", boost_error=False, mode="alphanumeric").version
    )


def test_penalty_scores_equal_segnos_rules_on_random_and_crafted_matrices() -> None:
    rng = np.random.default_rng(5)
    mats = [rng.integers(0, 2, size=(45, 45), dtype=np.uint8) for _ in range(40)]
    # periodic "1011" rows create overlapping 1:1:3:1:1 candidates (distance 4 and 6),
    # where segno's sequential search skips some matches
    crafted = np.zeros((45, 45), dtype=np.uint8)
    crafted[0, :] = np.resize([1, 0, 1, 1], 45)
    crafted[1, :13] = [1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1]
    crafted[2, 20:] = np.resize([1, 0, 1, 1, 1, 0], 25)
    crafted[:, 30] = np.resize([1, 0, 1, 1], 45)
    mats += [crafted, crafted.T.copy(), np.ones((45, 45), np.uint8), np.zeros((21, 21), np.uint8)]
    for m in mats:
        n = m.shape[0]
        expected = segno_encoder.mask_scores(tuple(bytearray(r.tolist()) for r in m), n, n)
        assert tuple(int(v) for v in qr.penalty_scores(m)) == tuple(expected)


def test_encode_batch_keeps_input_order_with_mixed_lengths() -> None:
    rng = random.Random(3)
    urls = [stamp_url(rng, h) for h in (20, 4, 20, 11, 4)]
    for url, got in zip(urls, qr.encode_batch(urls), strict=True):
        assert np.array_equal(got.modules, _segno_matrix(url)[2])


def test_rejects_non_ascii_and_empty_content() -> None:
    with pytest.raises(ValueError):
        qr.encode("HTTPS://TEM.OCOP.LOCAL/V/Đ")
    with pytest.raises(ValueError):
        qr.encode("")


def test_byte_mode_for_digital_link_urls_is_segnos_matrix() -> None:
    """Digital Link stamps (lower-case signature, query string) take byte mode, bit for bit as segno."""
    rng = random.Random(7)
    urls = []
    for _ in range(40):
        sig = base64.urlsafe_b64encode(rng.randbytes(64)).rstrip(b"=").decode()
        lot = "".join(rng.choice("ABCdef0123-/%") for _ in range(rng.randint(1, 20)))
        urls.append(
            f"HTTPS://TEM.OCOP.LOCAL/01/08936012345674/10/{lot}/21/0V8B5QZPM1XC9F?8030={sig}&v=01A1B2C3D4500C"
        )
    mixed = [*urls, "HTTPS://TEM.OCOP.LOCAL/V/ABC", "https://lower.case/v/abc"]
    for url, got in zip(mixed, qr.encode_batch(mixed), strict=True):
        ref = qr.encode_with_segno(url, mode="alphanumeric" if url.isupper() else "byte")
        assert (got.version, got.mask) == (ref.version, ref.mask), url
        assert np.array_equal(got.modules, ref.modules), url
