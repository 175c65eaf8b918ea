"""The matter catalog loader: validation, idempotent upserts, versions and the admin save path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from yiwang.onestop import catalog
from yiwang.onestop.models import (
    Bundle,
    BundleItem,
    Implementation,
    ImplementationVersion,
    Material,
    Matter,
)

PREFIX = "339901-"
SUFFIXES = ["scj", "cgj", "xfj", "swj", "rsj", "wjw", "gaj", "ybj", "zwb", "mzj"]


def make_departments(prefix: str = PREFIX) -> dict[str, Any]:
    from yiwang.accounts.models import Department
    from yiwang.accounts.tests.factories import DepartmentFactory, DivisionFactory

    division = DivisionFactory(code=prefix[:6], prefix=prefix[:6])
    return {
        s: DepartmentFactory(
            code=prefix + s, name=f"测试{s}", kind=Department.Kind.BUREAU, division=division
        )
        for s in SUFFIXES
    }


@pytest.fixture
def depts(db):
    return make_departments()


def content() -> tuple[dict[str, Any], dict[str, Any]]:
    return catalog.read_content()


def write(tmp: Path, matters: dict[str, Any], bundles: dict[str, Any]) -> Path:
    (tmp / "matters.yaml").write_text(yaml.safe_dump(matters, allow_unicode=True), "utf-8")
    (tmp / "bundles.yaml").write_text(yaml.safe_dump(bundles, allow_unicode=True), "utf-8")
    return tmp


def impl_entry(matters: dict[str, Any], code: str) -> dict[str, Any]:
    for m in matters["matters"]:
        for im in m["implementations"]:
            if im["code"] == code:
                return im
    raise KeyError(code)


def bundle_entry(bundles: dict[str, Any], code: str) -> dict[str, Any]:
    return next(b for b in bundles["bundles"] if b["code"] == code)


# --- the shipped content -------------------------------------------------------------------------
def test_shipped_content_loads_clean(depts):
    report = catalog.load_catalog(department_prefix=PREFIX)
    assert report.problems == []
    assert Matter.objects.count() == report.matters_created == 12
    assert set(Bundle.objects.values_list("code", flat=True)) == {
        "open-restaurant",
        "newborn",
        "enterprise-relocation",
    }


def test_restaurant_bundle_has_four_departments_in_parallel_besides_tax(depts):
    catalog.load_catalog(department_prefix=PREFIX)
    items = BundleItem.objects.filter(bundle__code="open-restaurant")
    assert {i.stage for i in items} == {1}
    assert {i.implementation.department.code.removeprefix(PREFIX) for i in items} == {
        "scj",
        "cgj",
        "xfj",
        "swj",
    }
    assert Bundle.objects.get(code="open-restaurant").lead_department == depts["zwb"]


def test_relocation_runs_tax_first_then_registration_and_social_insurance(depts):
    catalog.load_catalog(department_prefix=PREFIX)
    stages = {
        i.implementation.department.code.removeprefix(PREFIX): i.stage
        for i in BundleItem.objects.filter(bundle__code="enterprise-relocation")
    }
    assert stages == {"swj": 1, "scj": 2, "rsj": 2}


def test_certificate_material_names_the_certificate_type(depts):
    catalog.load_catalog(department_prefix=PREFIX)
    m = Material.objects.get(
        implementation__code=PREFIX + "scj-XK-SCJ-0002", key="business_licence"
    )
    assert (m.source, m.source_ref) == ("certificate", "business_licence")


def test_every_loaded_implementation_has_version_one_with_a_snapshot(depts):
    catalog.load_catalog(department_prefix=PREFIX)
    impl = Implementation.objects.get(code=PREFIX + "scj-XK-SCJ-0002")
    v = impl.versions.get()
    assert (impl.version, v.number) == (1, 1)
    assert v.snapshot["promised_limit"] == 3
    assert [m["key"] for m in v.snapshot["materials"]][:2] == [
        "food_permit_application",
        "business_licence",
    ]


# --- idempotence and versions --------------------------------------------------------------------
def test_second_load_changes_nothing(depts):
    catalog.load_catalog(department_prefix=PREFIX)
    versions = ImplementationVersion.objects.count()
    report = catalog.load_catalog(department_prefix=PREFIX)
    assert report.ok and report.changed == 0
    assert ImplementationVersion.objects.count() == versions
    assert set(Bundle.objects.values_list("version", flat=True)) == {1}


def test_a_changed_value_makes_a_new_version_with_its_snapshot(depts, tmp_path):
    catalog.load_catalog(department_prefix=PREFIX)
    matters, bundles = content()
    impl_entry(matters, "scj-XK-SCJ-0002")["promised_limit"] = 2
    report = catalog.load_catalog(department_prefix=PREFIX, path=write(tmp_path, matters, bundles))
    impl = Implementation.objects.get(code=PREFIX + "scj-XK-SCJ-0002")
    assert report.implementations_versioned == 1
    assert impl.version == 2
    assert impl.versions.get(number=2).snapshot["promised_limit"] == 2
    assert impl.versions.get(number=1).snapshot["promised_limit"] == 3


def test_a_changed_material_makes_a_new_version(depts, tmp_path):
    catalog.load_catalog(department_prefix=PREFIX)
    matters, bundles = content()
    impl_entry(matters, "cgj-XK-CGJ-0001")["materials"][2]["formats"] = ["pdf"]
    catalog.load_catalog(department_prefix=PREFIX, path=write(tmp_path, matters, bundles))
    impl = Implementation.objects.get(code=PREFIX + "cgj-XK-CGJ-0001")
    assert impl.version == 2
    assert impl.materials.get(key="sign_design").formats == ["pdf"]


def test_a_changed_bundle_question_bumps_the_bundle_version(depts, tmp_path):
    catalog.load_catalog(department_prefix=PREFIX)
    matters, bundles = content()
    bundle_entry(bundles, "newborn")["questions"][0]["text"] = "父母一方户籍在本区吗？"
    report = catalog.load_catalog(department_prefix=PREFIX, path=write(tmp_path, matters, bundles))
    assert report.bundles_updated == 1
    assert Bundle.objects.get(code="newborn").version == 2


def test_a_removed_item_is_removed_from_the_bundle(depts, tmp_path):
    catalog.load_catalog(department_prefix=PREFIX)
    matters, bundles = content()
    b = bundle_entry(bundles, "open-restaurant")
    b["items"] = [i for i in b["items"] if i["implementation"] != "xfj-XK-XFJ-0001"]
    report = catalog.load_catalog(department_prefix=PREFIX, path=write(tmp_path, matters, bundles))
    assert report.ok
    assert BundleItem.objects.filter(bundle__code="open-restaurant").count() == 4


# --- validation ----------------------------------------------------------------------------------
def _problems(tmp_path: Path, matters: dict[str, Any], bundles: dict[str, Any]) -> list[str]:
    report = catalog.load_catalog(department_prefix=PREFIX, path=write(tmp_path, matters, bundles))
    return [str(p) for p in report.problems]


def test_unknown_department_is_reported_with_file_entry_and_field(depts, tmp_path):
    matters, bundles = content()
    impl_entry(matters, "scj-XK-SCJ-0002")["department"] = "xyz"
    problems = _problems(tmp_path, matters, bundles)
    assert problems == [
        "matters.yaml: matters[1] XK-SCJ-0002 / scj-XK-SCJ-0002 · department: "
        "unknown department 'xyz'"
    ]


def test_unknown_question_in_a_condition_is_reported(depts, tmp_path):
    matters, bundles = content()
    bundle_entry(bundles, "open-restaurant")["items"][2]["applies_when"] = "has_sign"
    (p,) = _problems(tmp_path, matters, bundles)
    assert "bundles[0] open-restaurant / items[2] cgj-XK-CGJ-0001 · applies_when" in p
    assert "has_sign" in p


def test_bad_enum_value_is_reported(depts, tmp_path):
    matters, bundles = content()
    impl_entry(matters, "scj-XK-SCJ-0002")["service_area"] = "galaxy"
    (p,) = _problems(tmp_path, matters, bundles)
    assert "service_area: 'galaxy' is not one of" in p


def test_condition_with_an_unknown_choice_value_is_reported(depts, tmp_path):
    matters, bundles = content()
    impl_entry(matters, "scj-XK-SCJ-0002")["materials"][4]["applies_when"] = 'food_kind == "raw"'
    (p,) = _problems(tmp_path, matters, bundles)
    assert "cold_room_layout · applies_when" in p and "'raw'" in p


def test_duplicate_keys_are_reported(depts, tmp_path):
    matters, bundles = content()
    mats = impl_entry(matters, "scj-XK-SCJ-0002")["materials"]
    mats.append(copy.deepcopy(mats[0]))
    b = bundle_entry(bundles, "newborn")
    b["questions"].append(copy.deepcopy(b["questions"][0]))
    problems = _problems(tmp_path, matters, bundles)
    assert any("duplicate material key 'food_permit_application'" in p for p in problems)
    assert any("duplicate question key 'household_here'" in p for p in problems)


def test_bad_material_format_is_reported(depts, tmp_path):
    matters, bundles = content()
    impl_entry(matters, "cgj-XK-CGJ-0001")["materials"][2]["formats"] = ["docx"]
    (p,) = _problems(tmp_path, matters, bundles)
    assert "sign_design · formats: unknown format(s) docx" in p


def test_certificate_field_not_in_the_form_is_reported(depts, tmp_path):
    matters, bundles = content()
    impl_entry(matters, "gaj-QR-GAJ-0001")["certificate_fields"]["nickname"] = "alias"
    (p,) = _problems(tmp_path, matters, bundles)
    assert "certificate_fields: 'nickname' is not a field of the form of bundles[1] newborn" in p


def test_unknown_certificate_type_and_prefill_source_are_reported(depts, tmp_path):
    matters, bundles = content()
    impl_entry(matters, "gaj-QR-GAJ-0001")["materials"][0]["source_ref"] = "passport"
    bundle_entry(bundles, "enterprise-relocation")["fields"][2]["prefill"] = (
        "exchange:mzj_social_assistance.name"
    )
    problems = _problems(tmp_path, matters, bundles)
    assert any("'passport' is not a certificate type code" in p for p in problems)
    assert any("'mzj_social_assistance' is not keyed by credit_code" in p for p in problems)


def test_problems_are_all_reported_and_nothing_is_loaded(depts, tmp_path):
    matters, bundles = content()
    impl_entry(matters, "scj-XK-SCJ-0002")["department"] = "xyz"
    impl_entry(matters, "cgj-XK-CGJ-0001")["materials"][2]["formats"] = ["docx"]
    bundle_entry(bundles, "newborn")["audience"] = "aliens"
    report = catalog.load_catalog(department_prefix=PREFIX, path=write(tmp_path, matters, bundles))
    assert len(report.problems) == 3
    assert Matter.objects.count() == Implementation.objects.count() == Bundle.objects.count() == 0


def test_problems_on_reload_leave_the_loaded_catalog_unchanged(depts, tmp_path):
    catalog.load_catalog(department_prefix=PREFIX)
    matters, bundles = content()
    impl_entry(matters, "scj-XK-SCJ-0002")["promised_limit"] = 2
    impl_entry(matters, "cgj-XK-CGJ-0001")["department"] = "xyz"
    report = catalog.load_catalog(department_prefix=PREFIX, path=write(tmp_path, matters, bundles))
    assert not report.ok
    assert Implementation.objects.get(code=PREFIX + "scj-XK-SCJ-0002").promised_limit == 3


def test_zero_visits_must_be_entirely_online(depts, tmp_path):
    matters, bundles = content()
    impl_entry(matters, "scj-XK-SCJ-0002")["online_depth"] = 3
    (p,) = _problems(tmp_path, matters, bundles)
    assert "online_depth: zero visits means entirely online" in p


def test_a_yaml_syntax_error_is_a_problem(depts, tmp_path):
    (tmp_path / "matters.yaml").write_text("matters: [\n", "utf-8")
    (tmp_path / "bundles.yaml").write_text("bundles: []\n", "utf-8")
    report = catalog.load_catalog(department_prefix=PREFIX, path=tmp_path)
    assert len(report.problems) == 1 and Matter.objects.count() == 0


# --- the save action -----------------------------------------------------------------------------
def test_saving_an_unchanged_implementation_makes_no_version(depts):
    catalog.load_catalog(department_prefix=PREFIX)
    impl = Implementation.objects.get(code=PREFIX + "scj-XK-SCJ-0002")
    assert catalog.do_save_implementation(actor=None, implementation=impl) is None
    assert impl.versions.count() == 1


def test_saving_a_change_audits_the_new_version(depts):
    from yiwang.core.models import AuditRecord

    catalog.load_catalog(department_prefix=PREFIX)
    impl = Implementation.objects.get(code=PREFIX + "scj-XK-SCJ-0002")
    impl.fee_basis = "不收费。"
    row = catalog.do_save_implementation(actor=None, implementation=impl, note="措辞")
    assert row.number == 2 and row.note == "措辞"
    rec = AuditRecord.objects.filter(event="onestop.implementation_saved").order_by("-seq").first()
    assert rec.object_id == str(impl.pk) and rec.detail["version"] == 2


def test_seed_catalog_is_idempotent(db):
    from yiwang.onestop.demo_catalog import seed_catalog

    make_departments("339902-")
    first = seed_catalog(district_code="339902")
    second = seed_catalog(district_code="339902")
    assert first.changed > 0 and second.changed == 0


# --- the admin -----------------------------------------------------------------------------------
class _FormValues:
    """The values a browser would submit for the first form of an admin change page."""

    def __init__(self, html: str) -> None:
        from html.parser import HTMLParser

        values: dict[str, list[str]] = {}
        state: dict[str, Any] = {"select": None, "textarea": None, "text": []}

        class P(HTMLParser):
            def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
                a = {k: v or "" for k, v in attrs}
                name = a.get("name")
                if tag == "input" and name:
                    kind = a.get("type", "text")
                    if kind in {"checkbox", "radio"}:
                        if "checked" in a:
                            values.setdefault(name, []).append(a.get("value", "on"))
                    elif kind not in {"submit", "button", "file"}:
                        values.setdefault(name, []).append(a.get("value", ""))
                elif tag == "select" and name:
                    state["select"] = name
                    values.setdefault(name, [])
                elif tag == "option" and state["select"] and "selected" in a:
                    values[state["select"]].append(a.get("value", ""))
                elif tag == "textarea" and name:
                    state["textarea"], state["text"] = name, []

            def handle_endtag(self, tag: str) -> None:
                if tag == "select":
                    state["select"] = None
                elif tag == "textarea" and state["textarea"]:
                    values.setdefault(state["textarea"], []).append("".join(state["text"]))
                    state["textarea"] = None

            def handle_data(self, data: str) -> None:
                if state["textarea"]:
                    state["text"].append(data.lstrip("\n") if not state["text"] else data)

        P().feed(html)
        values.pop("csrfmiddlewaretoken", None)
        self.values = {k: (v if len(v) != 1 else v[0]) for k, v in values.items()}


@pytest.fixture
def admin_client(client, depts, monkeypatch):
    from yiwang.accounts.roles import ADMIN_APPS, Role
    from yiwang.accounts.tests.factories import UserFactory

    monkeypatch.setitem(ADMIN_APPS, Role.SYSADMIN, ADMIN_APPS[Role.SYSADMIN] | {"onestop"})
    catalog.load_catalog(department_prefix=PREFIX)
    client.force_login(UserFactory(role=Role.SYSADMIN, department=depts["zwb"], is_staff=True))
    return client


def _change(client: Any, url: str, **changes: Any) -> Any:
    page = client.get(url)
    assert page.status_code == 200
    data = _FormValues(page.content.decode()).values
    data.update(changes)
    return client.post(url, {k: v for k, v in data.items() if v is not None})


def test_admin_save_makes_a_new_version(admin_client):
    impl = Implementation.objects.get(code=PREFIX + "scj-XK-SCJ-0002")
    url = f"/admin/onestop/implementation/{impl.pk}/change/"
    resp = _change(admin_client, url, promised_limit="2", change_note="承诺时限压缩")
    assert resp.status_code == 302, resp.content.decode()[:2000]
    impl.refresh_from_db()
    assert impl.version == 2
    v = impl.versions.get(number=2)
    assert v.snapshot["promised_limit"] == 2 and v.note == "承诺时限压缩"


def test_admin_save_without_a_change_makes_no_version(admin_client):
    impl = Implementation.objects.get(code=PREFIX + "scj-XK-SCJ-0002")
    resp = _change(admin_client, f"/admin/onestop/implementation/{impl.pk}/change/")
    assert resp.status_code == 302
    impl.refresh_from_db()
    assert impl.version == 1


def test_admin_reports_a_bad_material_condition_on_the_field(admin_client):
    impl = Implementation.objects.get(code=PREFIX + "scj-XK-SCJ-0002")
    keys = list(impl.materials.order_by("order", "id").values_list("key", flat=True))
    m = keys.index("cold_room_layout")
    resp = _change(
        admin_client,
        f"/admin/onestop/implementation/{impl.pk}/change/",
        **{f"materials-{m}-applies_when": "has_cellar"},
    )
    assert resp.status_code == 200
    errors = resp.context["inline_admin_formsets"][0].formset.forms[m].errors
    assert "has_cellar" in str(errors["applies_when"])
    assert Implementation.objects.get(pk=impl.pk).version == 1


def test_admin_reports_a_bad_item_condition_on_the_field(admin_client):
    bundle = Bundle.objects.get(code="open-restaurant")
    resp = _change(
        admin_client,
        f"/admin/onestop/bundle/{bundle.pk}/change/",
        **{"items-2-applies_when": "outdoor_sign and seats > 50"},
    )
    assert resp.status_code == 200
    items = next(
        f.formset for f in resp.context["inline_admin_formsets"] if f.formset.prefix == "items"
    )
    assert "seats" in str(items.forms[2].errors["applies_when"])


def test_admin_bundle_change_bumps_its_version(admin_client):
    bundle = Bundle.objects.get(code="newborn")
    resp = _change(admin_client, f"/admin/onestop/bundle/{bundle.pk}/change/", promised_days="6")
    assert resp.status_code == 302
    bundle.refresh_from_db()
    assert (bundle.promised_days, bundle.version) == (6, 2)


def test_admin_application_list_is_read_only(admin_client):
    resp = admin_client.get("/admin/onestop/application/")
    assert resp.status_code == 200
    assert admin_client.get("/admin/onestop/application/add/").status_code == 403


def test_command_line_check_passes_on_the_shipped_content(db, capsys):
    assert catalog.main(["check"]) == 0
    assert "12 matters, 3 bundles: OK" in capsys.readouterr().out


def test_command_line_check_lists_the_problems(db, capsys, tmp_path):
    matters, bundles = content()
    impl_entry(matters, "scj-XK-SCJ-0002")["online_depth"] = 7
    assert catalog.main(["check", "--path", str(write(tmp_path, matters, bundles))]) == 1
    assert "online_depth: 7 is not one of" in capsys.readouterr().out


def test_admin_reports_a_bad_question_condition_on_the_field(admin_client):
    bundle = Bundle.objects.get(code="open-restaurant")
    resp = _change(
        admin_client,
        f"/admin/onestop/bundle/{bundle.pk}/change/",
        **{"questions-4-shown_when": 'food_kind == "frozen"'},
    )
    assert resp.status_code == 200
    qs = next(
        f.formset for f in resp.context["inline_admin_formsets"] if f.formset.prefix == "questions"
    )
    assert "frozen" in str(qs.forms[4].errors["shown_when"])


def test_admin_item_may_refer_to_a_question_added_on_the_same_page(admin_client):
    bundle = Bundle.objects.get(code="newborn")
    url = f"/admin/onestop/bundle/{bundle.pk}/change/"
    n = bundle.questions.count()
    resp = _change(
        admin_client,
        url,
        **{
            "questions-TOTAL_FORMS": str(n + 1),
            f"questions-{n}-order": "9",
            f"questions-{n}-key": "twins",
            f"questions-{n}-text": "是否为双胞胎？",
            f"questions-{n}-kind": "boolean",
            f"questions-{n}-choices": "[]",
            "items-1-applies_when": "household_here and not twins",
        },
    )
    assert resp.status_code == 302
    assert bundle.items.get(stage=2).applies_when == "household_here and not twins"


@pytest.mark.parametrize("model", ["matter", "implementation", "bundle"])
def test_admin_add_pages_render(admin_client, model):
    assert admin_client.get(f"/admin/onestop/{model}/add/").status_code == 200
