"""Identifier validation through python-stdnum, with zh-Hans/English messages.

- Resident ID (GB 11643): ``stdnum.cn.ric``
- Unified Social Credit Code (GB 32100): ``stdnum.cn.uscc``; some pilot-area codes fail the
  checksum in the wild, so ``validate_credit_code(strict=False)`` warns instead of rejecting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric, uscc


@dataclass
class IdCheck:
    valid: bool
    value: str
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    birth_date: dt.date | None = None
    sex: str = ""  # "M" / "F"
    division: str = ""


def validate_resident_id(value: str) -> IdCheck:
    raw = (value or "").strip()
    if not raw:
        return IdCheck(False, raw, _("The ID number is empty."))
    try:
        compact = ric.validate(raw)
    except stdnum_exc.InvalidLength:
        return IdCheck(False, raw, _("An ID number has 18 characters."))
    except stdnum_exc.InvalidFormat:
        return IdCheck(False, raw, _("An ID number is 17 digits followed by a digit or X."))
    except stdnum_exc.InvalidChecksum:
        return IdCheck(False, raw, _("The ID number's check character is wrong."))
    except stdnum_exc.InvalidComponent:
        # stdnum also rejects a region code not in use in the birth year; but IDs carry the
        # code of the issuing place at issue time (first issued 1984), so people born before
        # a district existed hold valid numbers. Only an impossible birth date is an error.
        compact = ric.compact(raw)
        try:
            ric.get_birth_date(compact)
        except stdnum_exc.ValidationError:
            return IdCheck(False, raw, _("The ID number holds an impossible birth date."))
        warnings = [
            _("The region code %(code)s is not known for the birth year.") % {"code": compact[:6]}
        ]
        return _with_parts(IdCheck(True, compact, warnings=warnings))
    except stdnum_exc.ValidationError:
        return IdCheck(False, raw, _("This is not a valid ID number."))
    return _with_parts(IdCheck(True, compact))


def _with_parts(chk: IdCheck) -> IdCheck:
    compact = chk.value
    chk.birth_date = ric.get_birth_date(compact)
    chk.sex = "M" if int(compact[16]) % 2 == 1 else "F"
    chk.division = compact[:6]
    return chk


def validate_credit_code(value: str, *, strict: bool = True) -> IdCheck:
    raw = (value or "").strip().upper()
    if not raw:
        return IdCheck(False, raw, _("The credit code is empty."))
    try:
        compact = uscc.validate(raw)
    except stdnum_exc.InvalidChecksum:
        compact = uscc.compact(raw)
        msg = _("The credit code's check character is wrong.")
        if strict:
            return IdCheck(False, raw, msg)
        return IdCheck(True, compact, warnings=[msg], division=compact[2:8])
    except stdnum_exc.InvalidLength:
        return IdCheck(False, raw, _("A unified social credit code has 18 characters."))
    except stdnum_exc.InvalidFormat:
        return IdCheck(
            False,
            raw,
            _("A credit code uses digits and capital letters except I, O, S, V and Z."),
        )
    except stdnum_exc.ValidationError:
        return IdCheck(False, raw, _("This is not a valid unified social credit code."))
    return IdCheck(True, compact, division=compact[2:8])


def make_resident_id(division: str, birth: dt.date, seq: int) -> str:
    """A checksum-valid ID for synthetic data (``seq`` 0–999; odd = male)."""
    body = f"{division}{birth:%Y%m%d}{seq % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check char


def make_credit_code(division: str, org_code: str, dept: str = "9", kind: str = "1") -> str:
    """A checksum-valid unified social credit code for synthetic data."""
    body = f"{dept}{kind}{division}{org_code}"
    return body + uscc.calc_check_digit(body)
