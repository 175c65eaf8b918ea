from __future__ import annotations

import pytest

from yiwang.accounts.actions import do_import_divisions
from yiwang.accounts.models import Division
from yiwang.core.codetables import import_industry, industry


@pytest.mark.django_db
def test_industry_table_imports_once_and_looks_up():
    rows, errors = import_industry(actor=None)
    assert rows > 1000 and not errors
    assert import_industry(actor=None) == (0, [])
    assert industry("i6510").name
    assert industry("A").level == "section"


@pytest.mark.django_db
def test_bad_rows_are_reported_and_good_rows_kept(tmp_path):
    f = tmp_path / "ind.csv"
    f.write_text(
        "code,name,level,parent\nA,农业,section,\n12X,坏,class,A\nA01,农业,division,A\nA01,重复,division,A\n",
        encoding="utf-8",
    )
    rows, errors = import_industry(actor=None, version="test", path=f)
    assert rows == 2
    assert any("row 3" in e for e in errors) and any("duplicate" in e for e in errors)


@pytest.mark.django_db
def test_divisions_import_one_province_with_hierarchy():
    created = do_import_divisions(actor=None, provinces=["33"])
    assert created > 1000
    xihu = Division.objects.get(code="330106")
    assert xihu.parent.code == "330100" and xihu.parent.parent.code == "330000"
    street = Division.objects.filter(parent=xihu).first()
    assert street.level == "street" and street.prefix.startswith("330106")
    assert do_import_divisions(actor=None, provinces=["33"]) == 0


@pytest.mark.django_db
def test_a_newer_division_release_supersedes_the_older_one():
    do_import_divisions(actor=None, provinces=["33"], include_streets=False)
    do_import_divisions(actor=None, release="2023", provinces=["33"], include_streets=False)
    old = Division.objects.get(code="330106", release="2022")
    new = Division.objects.get(code="330106", release="2023")
    assert old.valid_to is not None and new.valid_to is None
    assert Division.objects.filter(code="330106", valid_to__isnull=True).count() == 1
