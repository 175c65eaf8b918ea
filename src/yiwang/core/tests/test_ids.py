from __future__ import annotations

import datetime as dt

from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from yiwang.core.ids import (
    make_credit_code,
    make_resident_id,
    validate_credit_code,
    validate_resident_id,
)


def test_valid_resident_id_gives_birth_date_and_sex():
    chk = validate_resident_id("11010519491231002X")
    assert chk.valid and chk.birth_date == dt.date(1949, 12, 31) and chk.sex == "F"
    assert chk.division == "110105"


def test_bad_check_character_is_named_in_chinese_and_english():
    with translation.override("zh-hans"):
        zh = validate_resident_id("110105194912310021").error
    with translation.override("en"):
        en = validate_resident_id("110105194912310021").error
    assert "check character" in en
    assert zh and zh != en


def test_wrong_length_and_format():
    assert "18" in validate_resident_id("12345").error
    assert not validate_resident_id("1101051949123100AX").valid
    assert not validate_resident_id("").valid


def test_impossible_birth_date_is_rejected():
    body = "11010519491332002"  # month 13
    from stdnum.cn import ric

    assert not validate_resident_id(body + ric.calc_check_digit(body + "0")).valid


def test_region_unknown_for_birth_year_is_a_warning_not_an_error():
    # 330106 西湖区 dates from 1983; people born earlier hold 330106 numbers.
    n = make_resident_id("330106", dt.date(1960, 5, 1), 11)
    chk = validate_resident_id(n)
    assert chk.valid and chk.warnings


@given(st.dates(dt.date(1984, 1, 1), dt.date(2020, 12, 31)), st.integers(0, 999))
def test_generated_ids_validate(birth, seq):
    assert validate_resident_id(make_resident_id("110101", birth, seq)).valid


def test_credit_codes():
    code = make_credit_code("330106", "MA2H00001")
    assert validate_credit_code(code).valid
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert not validate_credit_code(bad).valid
    lenient = validate_credit_code(bad, strict=False)
    assert lenient.valid and lenient.warnings
    assert (
        "I, O, S, V" in validate_credit_code("91330106MA2H0000IO").error
        or not validate_credit_code("91330106MA2H0000IO").valid
    )
