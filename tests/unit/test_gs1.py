"""GTIN check digits against published GS1 examples."""

from __future__ import annotations

import pytest

from stamp_service.domain.gs1 import check_gtin, gtin_check_digit


@pytest.mark.parametrize(
    "gtin",
    ["8934588063053", "4006381333931", "96385074", "036000291452", "00012345600012", "8938505974194"],
)
def test_valid_gtins_pass(gtin):
    assert check_gtin(gtin) == gtin


@pytest.mark.parametrize(
    "gtin",
    [
        "8934588063054",
        "4006381333930",
        "1234567",
        "89345880630531",
        "89345-880630",
        "８９３４５８８０６３０５３",
    ],
)
def test_wrong_check_digit_length_or_characters_fail(gtin):
    with pytest.raises(ValueError):
        check_gtin(gtin)


def test_check_digit_of_the_gs1_manual_example():
    # GS1 General Specifications 7.9.1: 629104150021 -> 3
    assert gtin_check_digit("629104150021") == 3
