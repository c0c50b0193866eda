"""Serials: display form, check character, parsing leniency and strictness, DB mapping."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stamp_service.domain import serials
from stamp_service.errors import InvalidStamp, SerialTypo

u64 = st.integers(min_value=1, max_value=serials.MAX_SERIAL)


def test_generate_is_random_nonzero_64_bit():
    values = {serials.generate() for _ in range(1000)}
    assert len(values) == 1000
    assert all(0 < v <= serials.MAX_SERIAL for v in values)
    assert max(values).bit_length() > 60  # uses the whole range


def test_generate_many_gives_distinct_nonzero_64_bit_serials():
    values = serials.generate_many(5000)
    assert len(values) == 5000 == len(set(values))
    assert all(0 < v <= serials.MAX_SERIAL for v in values)
    assert max(values) > 2**60  # the whole 64-bit range is used, not a few low bytes


def test_display_form_is_grouped_4_4_4_2():
    text = serials.format_serial(0x0123456789ABCDEF)
    assert text == "028T-5CY4-TQKF-FX"
    assert [len(g) for g in text.split("-")] == [4, 4, 4, 2]
    assert serials.compact(0x0123456789ABCDEF) == "028T5CY4TQKFFX"


@given(u64)
def test_round_trip(serial):
    text = serials.format_serial(serial)
    assert serials.parse_serial(text) == serial
    assert serials.parse_serial(text.lower().replace("-", " ")) == serial
    assert serials.parse_serial(serials.compact(serial)) == serial


def test_crockford_aliases_and_separators():
    text = serials.format_serial(0x0123456789ABCDEF)  # 028T-5CY4-TQKF-FX
    assert serials.parse_serial(" o28t 5cy4-tqkf-fx ") == 0x0123456789ABCDEF
    one = serials.format_serial(1)  # 0000-0000-0000-1?
    assert serials.parse_serial(one.replace("1", "I")) == 1
    assert serials.parse_serial(one.replace("1", "l")) == 1
    assert text.replace("0", "O") != text


@pytest.mark.parametrize(
    "text",
    ["", "028T-5CY4-TQKF", "028T-5CY4-TQKF-FXX", "028T-5CY4-TQKF-FU", "028T-5CY4-TQKF-F*", "028T=5CY4TQKFFX"],
)
def test_malformed_serials_are_typos(text):
    with pytest.raises(SerialTypo) as info:
        serials.parse_serial(text)
    assert isinstance(info.value, InvalidStamp)
    assert info.value.kind == "serial-typo" and info.value.status == 422


@pytest.mark.parametrize("text", ["028T\t5CY4-TQKF-FX", "028T-5CY4-TQKF-FX\t", "028T-5CY4-TQKF-FX\u00a0"])
def test_only_spaces_and_hyphens_separate(text):
    assert serials.parse_serial("028T-5CY4-TQKF-FX") == 0x0123456789ABCDEF
    with pytest.raises(SerialTypo):
        serials.parse_serial(text)


def test_non_ascii_look_alikes_of_aliases_are_typos():
    one = serials.format_serial(1)
    assert serials.parse_serial(one.replace("1", "I")) == 1
    for look_alike in ("\u0131", "\u0130"):  # dotless ı upper-cases to I; İ is not I either
        with pytest.raises(SerialTypo):
            serials.parse_serial(one.replace("1", look_alike))


def test_u_is_rejected_even_where_it_would_fit():
    good = serials.compact(0x0123456789ABCDEF)
    with pytest.raises(SerialTypo, match="'U'"):
        serials.parse_serial(good[:5] + "U" + good[6:])


def test_zero_and_65_bit_values_are_rejected():
    zero = "0" * 13
    with pytest.raises(SerialTypo):
        serials.parse_serial(zero + serials.check_char(zero))
    big = "G" + "0" * 12  # first character above F needs a 65th bit
    with pytest.raises(SerialTypo, match="starts"):
        serials.parse_serial(big + serials.check_char(big))


def _caught(text: str) -> bool:
    try:
        serials.parse_serial(text)
    except SerialTypo:
        return True
    return False


def test_every_single_substitution_is_caught():
    rng = random.Random(1)
    for serial in [rng.getrandbits(64) | 1 for _ in range(40)] + [1, serials.MAX_SERIAL]:
        good = serials.compact(serial)
        for pos, wrong in itertools.product(range(14), serials.ALPHABET):
            if wrong != good[pos]:
                assert _caught(good[:pos] + wrong + good[pos + 1 :]), (good, pos, wrong)


def test_adjacent_transpositions_are_caught_except_0_and_z():
    """Luhn mod 32 misses exactly the swap of 0 and Z (both map to themselves when doubled)."""
    missed: set[frozenset[str]] = set()
    base = list("123456789ABCD")
    for pos in range(13):  # pair (pos, pos+1); pos 12 pairs the last data character with the check
        for a, b in itertools.product(serials.ALPHABET, repeat=2):
            data = base.copy()
            data[pos] = a
            if pos < 12:
                data[pos + 1] = b
            good = "".join(data) + serials.check_char("".join(data))
            swapped = good[:pos] + good[pos + 1] + good[pos] + good[pos + 2 :]
            if swapped != good and not _caught(swapped):
                missed.add(frozenset(good[pos : pos + 2]))
    assert missed == {frozenset({"0", "Z"})}


def test_transposition_rate_on_random_serials():
    rng = random.Random(2)
    total = caught = 0
    for _ in range(300):
        good = serials.compact(rng.getrandbits(64) | 1)
        for pos in range(13):
            if good[pos] != good[pos + 1]:
                total += 1
                caught += _caught(good[:pos] + good[pos + 1] + good[pos] + good[pos + 2 :])
    assert caught / total > 0.99


@pytest.mark.parametrize(
    ("unsigned", "signed"),
    [
        (1, 1),
        (2**63 - 1, 2**63 - 1),
        (2**63, -(2**63)),
        (2**64 - 1, -1),
        (0x0123456789ABCDEF, 0x0123456789ABCDEF),
    ],
)
def test_db_mapping_is_twos_complement(unsigned, signed):
    assert serials.to_db(unsigned) == signed
    assert serials.from_db(signed) == unsigned


@given(u64)
def test_db_mapping_round_trip(serial):
    stored = serials.to_db(serial)
    assert -(2**63) <= stored < 2**63
    assert serials.from_db(stored) == serial


def test_db_mapping_range_checked():
    with pytest.raises(ValueError):
        serials.to_db(2**64)
    with pytest.raises(ValueError):
        serials.from_db(2**63)
