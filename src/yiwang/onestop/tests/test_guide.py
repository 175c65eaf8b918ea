"""The public service guide (办事指南): anonymous readers, the key fields, 404s, the language."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from yiwang.onestop import guide_views
from yiwang.onestop.catalog import load_catalog
from yiwang.onestop.models import Bundle, BundleStatus, Implementation
from yiwang.onestop.tests.test_catalog import PREFIX, make_departments


@pytest.fixture
def loaded(db):
    make_departments()
    report = load_catalog(department_prefix=PREFIX)
    assert report.ok
    return report


def page(client, name: str, *args: str) -> str:
    resp = client.get(reverse(f"onestop:{name}", args=args))
    assert resp.status_code == 200
    return resp.content.decode()


# --- the list ------------------------------------------------------------------------------------
def test_list_shows_the_bundles_to_anonymous_readers(client, loaded):
    html = page(client, "guide")
    for name in ("开办餐饮店", "新生儿出生", "企业迁移"):
        assert name in html
    assert html.index('data-testid="bundles"') < html.index("data-matter=")


def test_list_groups_the_catalog_by_department(client, loaded):
    html = page(client, "guide")
    assert f'data-department="{PREFIX}scj"' in html and f'data-department="{PREFIX}xfj"' in html


def test_list_search_finds_a_matter_and_leaves_the_others(client, loaded):
    resp = client.get(reverse("onestop:guide"), {"q": "食品经营"})
    html = resp.content.decode()
    assert 'data-matter="XK-SCJ-0002"' in html
    assert 'data-matter="GG-WJW-0001"' not in html


def test_list_search_with_no_match_says_so(client, loaded):
    resp = client.get(reverse("onestop:guide"), {"q": "不存在的事项"})
    assert 'data-testid="no-matters"' in resp.content.decode()


def test_list_hides_draft_bundles(client, loaded):
    Bundle.objects.filter(code="newborn").update(status=BundleStatus.DRAFT)
    assert "新生儿出生" not in page(client, "guide")


# --- one matter ----------------------------------------------------------------------------------
def test_matter_page_shows_the_catalog_and_implementation_fields(client, loaded):
    html = page(client, "guide_matter", "XK-SCJ-0002")
    for text in (
        "食品经营许可",
        "XK-SCJ-0002",
        "《中华人民共和国食品安全法》第三十五条",
        f"{PREFIX}scj-XK-SCJ-0002",
        'data-testid="legal-limit">10',
        'data-testid="promised-limit">3',
        'data-testid="visits">0',
        'data-testid="fee">',
        "食品经营许可证",
        "可选择告知承诺方式",
    ):
        assert text in html, text


def test_matter_page_lists_materials_with_source_formats_and_deferrable(client, loaded):
    html = page(client, "guide_matter", "XK-SCJ-0002")
    row = html[html.index('data-material="food_safety_rules"') :]
    row = row[: row.index("</tr>")]
    assert 'data-source="applicant"' in row and "PDF" in row and "data-deferrable" in row
    licence = html[html.index('data-material="business_licence"') :]
    assert 'data-source="certificate"' in licence[: licence.index(">")]


def test_matter_page_says_when_a_material_applies(client, loaded):
    html = page(client, "guide_matter", "XK-SCJ-0002")
    row = html[html.index('data-material="cold_room_layout"') :]
    row = row[: row.index("</tr>")]
    assert "data-when" in row and "「您将制售哪些类别的食品」" in row and "“仅热食类”" in row


def test_matter_page_shows_the_version_and_co_departments(client, loaded):
    impl = Implementation.objects.get(code=PREFIX + "swj-QT-SWJ-0001")
    impl.fee_basis = "不收费（修订）。"
    from yiwang.onestop.catalog import do_save_implementation

    do_save_implementation(actor=None, implementation=impl)
    html = page(client, "guide_matter", "QT-SWJ-0001")
    assert 'data-testid="version">2' in html
    co = html[html.index('data-testid="co-departments"') :]
    assert "测试scj" in co[: co.index("</dd>")]


def test_matter_page_links_to_the_bundles_it_is_in(client, loaded):
    html = page(client, "guide_matter", "XK-CGJ-0001")
    assert reverse("onestop:guide_bundle", args=["open-restaurant"]) in html


def test_unknown_matter_is_404(client, loaded):
    resp = client.get(reverse("onestop:guide_matter", args=["NO-SUCH-0000"]))
    assert resp.status_code == 404


def test_matter_with_no_active_implementation_is_404(client, loaded):
    Implementation.objects.filter(matter__catalog_code="XK-XFJ-0001").update(active=False)
    resp = client.get(reverse("onestop:guide_matter", args=["XK-XFJ-0001"]))
    assert resp.status_code == 404


# --- one bundle ----------------------------------------------------------------------------------
def test_bundle_page_shows_the_question_tree_plainly(client, loaded):
    html = page(client, "guide_bundle", "open-restaurant")
    q = html[html.index('data-question="sign_area"') :]
    q = q[: q.index("</li>")]
    assert "data-shown-when" in q and "「是否在经营场所外墙设置户外招牌」" in q


def test_bundle_page_shows_matters_with_departments_and_limits(client, loaded):
    html = page(client, "guide_bundle", "open-restaurant")
    fire = html[html.index('data-item="XK-XFJ-0001"') :]
    fire = fire[: fire.index("</tr>")]
    assert f'data-department="{PREFIX}xfj"' in fire and 'data-promised="1"' in fire
    assert "测试xfj" in fire and "「经营场所建筑面积是多少平方米」 ≥ 300" in fire


def test_bundle_page_marks_materials_waived_by_a_certificate_issued_in_the_bundle(client, loaded):
    html = page(client, "guide_bundle", "open-restaurant")
    food = html[html.index('data-materials-for="XK-SCJ-0002"') :]
    food = food[: food.index("</section>")]
    lic = food[food.index('data-material="business_licence"') :]
    lic = lic[: lic.index("</li>")]
    assert 'data-source="certificate"' in lic and "data-waived" in lic and "营业执照" in lic


def test_bundle_page_runs_stages_in_order(client, loaded):
    html = page(client, "guide_bundle", "enterprise-relocation")
    assert html.index('data-stage="1"') < html.index('data-stage="2"')
    first = html[html.index('data-stage="1"') : html.index('data-stage="2"')]
    assert 'data-item="QT-SWJ-0002"' in first and 'data-item="DJ-SCJ-0003"' not in first


def test_bundle_page_links_to_start_applying(client, loaded):
    html = page(client, "guide_bundle", "newborn")
    assert f'href="{reverse("onestop:apply_start", args=["newborn"])}"' in html


def test_draft_bundle_is_404(client, loaded):
    Bundle.objects.filter(code="newborn").update(status=BundleStatus.DRAFT)
    resp = client.get(reverse("onestop:guide_bundle", args=["newborn"]))
    assert resp.status_code == 404


def test_unknown_bundle_is_404(client, loaded):
    assert client.get(reverse("onestop:guide_bundle", args=["no-such"])).status_code == 404


def test_bundle_page_in_english(client, loaded):
    client.cookies["django_language"] = "en"
    html = page(client, "guide_bundle", "open-restaurant")
    assert "Open a restaurant" in html and "One-time notice" in html
    assert "Asked only when 「Will you put up an outdoor sign」 is answered Yes" in html


def test_bundle_page_says_which_materials_the_bundle_itself_provides(client, loaded):
    client.cookies["django_language"] = "en"
    html = page(client, "guide_bundle", "newborn")
    police = html[html.index('data-materials-for="QR-GAJ-0001"') :]
    police = police[: police.index("</section>")]
    assert "Waived: the 出生医学证明 issued in this bundle is used" in police


# --- the scope cases (scope_guide.py) hold against these routes -------------------------------
def test_scope_guide_cases_hold(client, world):
    from yiwang.core import testing
    from yiwang.onestop.tests import scope_guide

    guide = {
        f"{scope_guide.P}/services/",
        f"{scope_guide.P}/services/matters/{{code}}/",
        f"{scope_guide.P}/services/bundles/{{code}}/",
    }
    cases = [c for (_m, p), c in testing.REGISTRY.items() if p in guide]
    assert len(cases) == 3
    for case in cases:
        probes = [case.in_scope(world)]
        if case.out_of_scope:
            probes.append(case.out_of_scope(world))
        for probe in probes:
            resp = testing.call(client, case.method, case.path, probe, world)
            assert resp.status_code == probe.expect, (case.path, probe)


# --- conditions in words -------------------------------------------------------------------------
QS = {
    "a": guide_views._Q("Sign", "boolean"),
    "k": guide_views._Q("Kind", "enum", {"x": "Ex", "y": "Why"}),
    "n": guide_views._Q("Area", "number"),
}


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("a", "「Sign」 is answered Yes"),
        ("not a", "「Sign」 is answered No"),
        ('k == "x"', "「Kind」 is “Ex”"),
        ('k != "y"', "「Kind」 is not “Why”"),
        ('k in ["x", "y"]', "「Kind」 is “Ex” or “Why”"),
        ("n >= 300", "「Area」 ≥ 300"),
        ('a or k == "x"', "「Sign」 is answered Yes or 「Kind」 is “Ex”"),
        (
            "n > 3 and (a or not a)",
            "「Area」 > 3 and (「Sign」 is answered Yes or 「Sign」 is answered No)",
        ),
        ("not (a and n > 3)", "not (「Sign」 is answered Yes and 「Area」 > 3)"),
        ("", ""),
    ],
)
def test_condition_in_words(expr, text):
    with translation.override("en"):
        assert guide_views.condition_text(expr, QS) == text
