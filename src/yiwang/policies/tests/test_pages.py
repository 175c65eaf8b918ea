"""政策通 pages: the public library, calculator and calendar; the enterprise portal; the console
(editor, preview, maker–checker review, matches). Plus the scope walk over every page."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from yiwang.core import testing
from yiwang.policies.tests import factories as f
from yiwang.policies.tests import scope_pages


def login(client, w, name):
    client.logout()
    client.force_login(w.users[name])
    return client


def last_fy() -> str:
    return f"FY{timezone.localdate().year - 1}"


# --- the scope walk over the pages --------------------------------------------------------------
PAGE_CASES = sorted((k, c) for k, c in testing.REGISTRY.items() if k[1].startswith("/policies/"))


def test_every_policies_page_has_a_case():
    paths = {p for _, p in testing.REGISTRY}
    missing = [p for p in testing.page_routes() if p.startswith("/policies/") and p not in paths]
    assert not missing


@pytest.mark.parametrize(("key", "case"), PAGE_CASES, ids=[f"{m} {p}" for (m, p), _ in PAGE_CASES])
def test_page_scope(key, case, client, world):
    method, path = key
    w = testing.build_scope_world(world)
    in_probe = case.in_scope(w)
    if not case.public:
        anon = testing.Probe(None, in_probe.kwargs, in_probe.body)
        resp = testing.call(client, method, path, anon, w)
        assert resp.status_code == 302 and "/accounts/login/" in resp["Location"], resp
    if case.out_of_scope is not None:
        probe = case.out_of_scope(w)
        resp = testing.call(client, method, path, probe, w)
        assert resp.status_code == probe.expect, (probe, resp.status_code, resp.content[:300])
    resp = testing.call(client, method, path, in_probe, w)
    assert resp.status_code == in_probe.expect, (in_probe, resp.status_code, resp.content[:300])


# --- the public library -------------------------------------------------------------------------
def test_library_lists_published_items_not_drafts(client, pw):
    item, draft = pw.extra["pol_item_a"], pw.extra["pol_draft_a"]
    html = client.get("/policies/").content.decode()
    assert f'data-item="{item.code}"' in html
    assert f'data-item="{draft.code}"' not in html


def test_library_search_uses_synonyms_and_filters(client, pw):
    item = f.published_item(
        pw, "a", code="rd-grant", title="企业研发费用补助", summary="按研发费用的10%补助"
    )
    html = client.get("/policies/", {"q": "研发补贴"}).content.decode()
    assert 'data-item="rd-grant"' in html
    assert f'data-item="{pw.extra["pol_item_a"].code}"' not in html
    # filters combine with the search
    html = client.get("/policies/", {"q": "研发补贴", "benefit_type": "award"}).content.decode()
    assert 'data-item="rd-grant"' in html
    html = client.get("/policies/", {"q": "研发补贴", "benefit_type": "subsidy"}).content.decode()
    assert 'data-item="rd-grant"' not in html
    html = client.get("/policies/", {"region": "330108"}).content.decode()
    assert (
        'data-item="rd-grant"' not in html and f'data-item="{pw.extra["pol_item_b"].code}"' in html
    )
    html = client.get("/policies/", {"industry": "C39", "open_now": "1"}).content.decode()
    assert 'data-item="rd-grant"' in html
    html = client.get("/policies/", {"industry": "F51"}).content.decode()
    assert 'data-item="rd-grant"' not in html  # the rule admits manufacturers only
    assert item.status == "published"


def test_document_and_item_pages_explain_the_conditions(client, pw):
    item = pw.extra["pol_item_a"]
    html = client.get(f"/policies/documents/{item.document_id}/").content.decode()
    assert item.title in html and 'data-atom="revenue"' in html and "第三条（一）" in html
    html = client.get(f"/policies/items/{item.pk}/").content.decode()
    assert 'data-testid="conditions"' in html and 'data-atom="manufacturing"' in html
    assert 'data-testid="deadline"' in html
    assert 'data-clause="第二条"' in html  # the cited article's text
    assert client.get(f"/policies/items/{pw.extra['pol_draft_a'].pk}/").status_code == 404


def test_an_enterprise_user_sees_its_own_result_on_the_item_page(client, pw):
    item = pw.extra["pol_item_a"]
    login(client, pw, "enterprise_a")
    html = client.get(f"/policies/items/{item.pk}/").content.decode()
    assert 'data-testid="my-result"' in html and 'data-outcome="eligible"' in html


def test_calendar_shows_deadlines_in_the_month(client, pw):
    item = pw.extra["pol_item_a"]
    month = item.closes_on.strftime("%Y-%m")
    html = client.get("/policies/calendar/", {"month": month}).content.decode()
    assert f'data-deadline="{item.code}"' in html
    other = "2001-01"
    html = client.get("/policies/calendar/", {"month": other}).content.decode()
    assert f'data-deadline="{item.code}"' not in html
    assert client.get("/policies/calendar/", {"month": "garbage"}).status_code == 200


# --- the calculator -------------------------------------------------------------------------
def test_calculator_anonymous_eligible_possibly_and_errors(client, pw):
    item = pw.extra["pol_item_a"]
    page = client.get("/policies/calculator/").content.decode()
    assert 'name="industry"' in page and 'value="330106"' in page
    # everything the rule needs: eligible, with the amount (1% of revenue)
    resp = client.post(
        "/policies/calculator/", {"area": "330106", "industry": "C39", "revenue": "800"}
    )
    html = resp.content.decode()
    assert resp.status_code == 200
    assert f'data-match="{item.code}" data-outcome="eligible"' in html
    assert "8 万元" in html
    # revenue unknown: possibly eligible, asking for it
    html = client.post("/policies/calculator/", {"area": "330106", "industry": "C39"}).content
    html = html.decode()
    assert f'data-match="{item.code}" data-outcome="possibly"' in html
    assert 'data-question="revenue"' in html
    # another district: not eligible, with the failed condition
    html = client.post(
        "/policies/calculator/", {"area": "330108", "industry": "C39", "revenue": "800"}
    ).content.decode()
    assert f'data-match="{item.code}" data-outcome="not_eligible"' in html
    # bad input: a message per field, nothing evaluated
    resp = client.post(
        "/policies/calculator/",
        {"employees": "many", "founded_on": "2999-01-01", "industry": "Z99", "revenue": "-5"},
    )
    assert resp.status_code == 422
    html = resp.content.decode()
    for name in ("employees", "founded_on", "industry", "revenue"):
        assert f'data-error-for="{name}"' in html
    assert 'data-testid="calc-result"' not in html


def test_calculator_extra_facts_are_typed_against_the_catalog(client, pw):
    resp = client.post("/policies/calculator/", {"fact:rd_expense@FY-1": "abc"})
    assert resp.status_code == 422
    assert 'data-error-for="fact:rd_expense@FY-1"' in resp.content.decode()
    resp = client.post("/policies/calculator/", {"fact:no_such_fact": "1"})
    assert resp.status_code == 422


# --- the enterprise portal ---------------------------------------------------------------------
def test_my_matches_eligible_with_reasons_and_possibly_with_the_fact_to_declare(client, pw):
    rd_rule = f.rule(f.DISTRICT["a"])
    rd_rule["when"]["all"].append(
        {
            "id": "rd",
            "label": {"zh": "上年度研发费用不低于50万元"},
            "expr": "rd_expense@FY-1 >= 50万元",
        }
    )
    rd_item = f.published_item(pw, "a", code="rd-needs-fact", rule=rd_rule)
    login(client, pw, "enterprise_a")
    html = client.get("/policies/mine/").content.decode()
    item = pw.extra["pol_item_a"]
    assert f'data-match="{item.code}" data-outcome="eligible"' in html
    assert 'data-testid="reasons"' in html
    assert f'data-match="{rd_item.code}" data-outcome="possibly"' in html
    key = f"rd_expense@{last_fy()}"
    assert f'data-testid="declare-{key}"' in html
    # a bad value: field error on the profile page, nothing stored
    resp = client.post("/policies/mine/profile/declare/", {"key": key, "value": "lots"})
    assert resp.status_code == 422 and 'data-error-for="value"' in resp.content.decode()
    resp = client.post(
        "/policies/mine/profile/declare/", {"key": key, "value": "120", "next": "matches"}
    )
    assert resp.status_code == 302 and resp["Location"].endswith("/policies/mine/")
    html = client.get("/policies/mine/").content.decode()
    assert f'data-match="{rd_item.code}" data-outcome="eligible"' in html
    prof = client.get("/policies/mine/profile/").content.decode()
    assert f'data-fact="{key}" data-kind="self_declared"' in prof


def test_profile_shows_sources_and_takes_corrections(client, pw):
    login(client, pw, "enterprise_a")
    html = client.get("/policies/mine/profile/").content.decode()
    assert 'data-fact="industry" data-kind="registry"' in html
    assert f'data-fact="revenue@{last_fy()}" data-kind="dataset"' in html
    assert "税务局年度企业所得税申报" in html
    resp = client.post(
        "/policies/mine/profile/correction/",
        {"key": "company_size", "value": "medium", "reason": ""},
    )
    assert resp.status_code == 422
    resp = client.post(
        "/policies/mine/profile/correction/",
        {"key": "company_size", "value": "medium", "reason": "去年扩大了规模"},
    )
    assert resp.status_code == 302
    from yiwang.policies.models import FactCorrection

    assert FactCorrection.objects.filter(name="company_size", value="medium").exists()


def test_inbox_unread_then_read_and_opt_out(client, pw):
    from yiwang.policies.models import PolicyPreference

    d = pw.extra["pol_delivery_a"]
    login(client, pw, "enterprise_a")
    html = client.get("/policies/mine/inbox/").content.decode()
    assert 'class="unread"' in html and 'data-testid="unread"' in html
    html = client.get(f"/policies/mine/inbox/{d.pk}/").content.decode()
    assert 'data-outcome="eligible"' in html
    d.refresh_from_db()
    assert d.read_at is not None
    assert 'class="unread"' not in client.get("/policies/mine/inbox/").content.decode()
    # someone else's delivery is not there
    login(client, pw, "enterprise_b")
    assert client.get(f"/policies/mine/inbox/{d.pk}/").status_code == 404
    login(client, pw, "enterprise_a")
    client.post("/policies/mine/preferences/", {"email": "1"})
    pref = PolicyPreference.objects.get(organisation=pw.extra["pol_org_a"])
    assert pref.push is False and pref.email is True


# --- the console -------------------------------------------------------------------------------
def test_editor_saves_valid_rules_and_names_the_atom_of_a_bad_one(client, pw):
    draft = pw.extra["pol_draft_a"]
    login(client, pw, "dept_staff_a")
    html = client.get(f"/policies/console/items/{draft.pk}/").content.decode()
    assert 'data-testid="clause-pane"' in html and 'data-atom="revenue"' in html
    bad = f.rule(f.DISTRICT["a"])
    bad["when"]["all"].append({"id": "staff_money", "expr": "employees >= 100万元"})
    resp = client.post(
        f"/policies/console/items/{draft.pk}/", {"mode": "json", "rule": json.dumps(bad)}
    )
    assert resp.status_code == 422
    assert "staff_money" in resp.content.decode()
    resp = client.post(f"/policies/console/items/{draft.pk}/", {"mode": "json", "rule": "{oops"})
    assert resp.status_code == 422 and "JSON" in resp.content.decode()
    # the expression syntax replaces 'when'
    expr = 'registered_district == "330106" and revenue@FY-1 >= 200万元'
    resp = client.post(
        f"/policies/console/items/{draft.pk}/",
        {"mode": "expr", "rule": json.dumps(f.rule()), "when_expr": expr},
    )
    assert resp.status_code == 302
    draft.refresh_from_db()
    assert draft.current_version.rule["when"] == expr


def test_preview_counts_who_would_match(client, pw):
    draft = pw.extra["pol_draft_a"]
    login(client, pw, "dept_staff_a")
    resp = client.post(
        f"/policies/console/items/{draft.pk}/preview/",
        {"mode": "json", "rule": json.dumps(f.rule(f.DISTRICT["a"], 500))},
    )
    html = resp.content.decode()
    assert resp.status_code == 200
    assert 'data-count="pass">1<' in html  # the side's enterprise (revenue 800)
    resp = client.post(
        f"/policies/console/items/{draft.pk}/preview/",
        {"mode": "json", "rule": json.dumps(f.rule(f.DISTRICT["a"], 5000))},
    )
    assert 'data-count="pass">0<' in resp.content.decode()
    bad = {"when": {"all": [{"id": "x", "expr": "no_such_fact >= 1"}]}}
    resp = client.post(
        f"/policies/console/items/{draft.pk}/preview/", {"mode": "json", "rule": json.dumps(bad)}
    )
    assert resp.status_code == 422 and "no_such_fact" in resp.content.decode()


def test_maker_submits_checker_approves(client, pw):
    from yiwang.policies.models import PolicyDelivery

    draft = pw.extra["pol_draft_a"]
    login(client, pw, "dept_staff_a")
    resp = client.post(f"/policies/console/items/{draft.pk}/submit/")
    assert resp.status_code == 302
    draft.refresh_from_db()
    assert draft.current_version.status == "review"
    # the maker may not review (and a staff member has no review capability anyway)
    assert client.get(f"/policies/console/items/{draft.pk}/review/").status_code == 404
    login(client, pw, "dept_leader_a")
    html = client.get("/policies/console/").content.decode()
    assert f'data-review="{draft.code}"' in html
    html = client.get(f"/policies/console/items/{draft.pk}/review/").content.decode()
    assert 'data-testid="diff"' in html and 'data-atom="revenue"' in html
    # sending back needs a reason
    resp = client.post(f"/policies/console/items/{draft.pk}/decide/", {"decision": "reject"})
    assert resp.status_code == 422 and 'data-error-for="reason"' in resp.content.decode()
    resp = client.post(
        f"/policies/console/items/{draft.pk}/decide/", {"decision": "approve", "note": "同意"}
    )
    assert resp.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "published"
    from yiwang.policies import delivery

    delivery.on_published(draft.pk)
    assert PolicyDelivery.objects.filter(item=draft, organisation=pw.extra["pol_org_a"]).exists()
    html = client.get(f"/policies/console/items/{draft.pk}/matches/").content.decode()
    assert 'data-count="pass">1<' in html and 'data-testid="by-street"' in html


def test_a_checker_who_wrote_the_version_is_told_to_ask_someone_else(client, pw):
    item = f.draft_item(pw, "a")
    from yiwang.policies import actions

    leader = pw.users["dept_leader_a"]
    actions.update_rule(leader, item, f.rule(f.DISTRICT["a"], 600))
    actions.submit_for_review(leader, item)
    login(client, pw, "dept_leader_a")
    html = client.get(f"/policies/console/items/{item.pk}/review/").content.decode()
    assert 'data-testid="own-version"' in html and 'data-testid="approve"' not in html


def test_new_document_and_item_forms(client, pw):
    from yiwang.policies.models import PolicyItem

    login(client, pw, "dept_staff_a")
    resp = client.post("/policies/console/documents/new/", {"title": ""})
    assert resp.status_code == 422 and 'data-error-for="title"' in resp.content.decode()
    resp = client.post("/policies/console/documents/new/", scope_pages._doc_form())
    assert resp.status_code == 302
    doc_id = int(resp["Location"].rstrip("/").split("/")[-3])
    form = scope_pages._item_form(pw)
    resp = client.post(
        f"/policies/console/documents/{doc_id}/items/new/", {**form, "closes_on": "2001-01-01"}
    )
    assert resp.status_code == 422 and 'data-error-for="closes_on"' in resp.content.decode()
    resp = client.post(f"/policies/console/documents/{doc_id}/items/new/", form)
    assert resp.status_code == 302
    assert PolicyItem.objects.get(code=form["code"]).status == "draft"


def test_pages_render_in_english_too(client, pw):
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    item = pw.extra["pol_item_a"]
    html = client.get(f"/policies/items/{item.pk}/").content.decode()
    assert "Conditions" in html and "Application window" in html
    html = client.post("/policies/calculator/", {"area": "330106", "industry": "C39"}).content
    assert "Possibly eligible" in html.decode()
    login(client, pw, "enterprise_a")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/policies/mine/profile/").content.decode()
    assert "operating revenue" in html  # the catalog's English label
    html = client.get("/policies/mine/").content.decode()
    assert "Why it matches:" in html


def test_amount_formulas_read_as_people_read_them():
    from yiwang.policies.views import formula_text

    labels = {"growth": "研发费用增长20%以上"}
    text = formula_text("min(if(growth, 12%, 10%) * rd_expense@FY-1, 200万元)", "zh", labels)
    assert text == "min(((若满足“研发费用增长20%以上”：12%，否则 10%) × 上年度研发费用), 200万元)"
    assert formula_text({"const": 30, "unit": "万元"}, "zh") == "30万元"
    en = formula_text({"mul": [{"fact": "revenue@FY-1"}, {"const": 0.01}]}, "en")
    assert en == "last year's operating revenue × 0.01"
    tiers = {"tiers": {"by": {"fact": "employees"}, "brackets": [{"from": 10, "value": "1万元"}]}}
    assert formula_text(tiers, "zh") == "从业人数（社保参保）: ≥ 10 → 1万元"


def test_atom_editor_edits_adds_and_removes_atoms(client, pw):
    draft = pw.extra["pol_draft_a"]
    login(client, pw, "dept_staff_a")
    html = client.get(f"/policies/console/items/{draft.pk}/").content.decode()
    assert 'data-atom-row="revenue"' in html and 'name="atom-4-id"' in html  # 3 atoms + 2 blank
    form = {"mode": "atoms", "group_op": "all", "rule": json.dumps(draft.current_version.rule)}
    rows = [
        ("in_district", "在本区注册", 'registered_district == "330106"', "第二条", "hard"),
        ("revenue", "上年度营收达300万元", "revenue@FY-1 >= 300万元", "第三条（一）", "hard"),
        ("", "", "", "", "hard"),  # manufacturing removed
        ("staff", "参保职工不少于10人", "employees >= 10人", "第三条（三）", "hard"),
        ("review", "经专家评审", "", "", "discretionary"),
    ]
    for n, (aid, label, expr, clause, kind) in enumerate(rows):
        form.update(
            {
                f"atom-{n}-id": aid,
                f"atom-{n}-label_zh": label,
                f"atom-{n}-label_en": "",
                f"atom-{n}-expr": expr,
                f"atom-{n}-clause": clause,
                f"atom-{n}-kind": kind,
            }
        )
    resp = client.post(f"/policies/console/items/{draft.pk}/", form)
    assert resp.status_code == 302, resp.content.decode()[:500]
    draft.refresh_from_db()
    atoms = draft.current_version.rule["when"]["all"]
    assert [a["id"] for a in atoms] == ["in_district", "revenue", "staff", "review"]
    assert atoms[1]["expr"] == "revenue@FY-1 >= 300万元" and atoms[3]["kind"] == "discretionary"
    assert "amount" in draft.current_version.rule  # kept from the JSON
    # a wrong unit in one row: 422, the atom named, the rows kept as typed
    form["atom-3-expr"] = "employees >= 10万元"
    resp = client.post(f"/policies/console/items/{draft.pk}/", form)
    html = resp.content.decode()
    assert resp.status_code == 422 and "staff" in html and 'value="employees &gt;= 10万元"' in html


def test_staff_decide_corrections_in_their_territory(client, pw):
    from yiwang.policies import profile

    c = pw.extra["pol_correction_a"]
    login(client, pw, "dept_staff_a")
    html = client.get("/policies/console/corrections/").content.decode()
    assert f'data-correction="{c.pk}"' in html
    assert f'data-correction="{pw.extra["pol_correction_b"].pk}"' not in html
    resp = client.post(f"/policies/console/corrections/{c.pk}/decide/", {"decision": "reject"})
    assert resp.status_code == 422 and 'data-error-for="note"' in resp.content.decode()
    resp = client.post(f"/policies/console/corrections/{c.pk}/decide/", {"decision": "accept"})
    assert resp.status_code == 302
    c.refresh_from_db()
    assert c.status == "accepted"
    assert profile.raw_facts(pw.extra["pol_org_a"])["industry"] == c.value


def test_library_marks_items_an_enterprise_user_qualifies_for(client, pw):
    item = pw.extra["pol_item_a"]
    html = client.get("/policies/").content.decode()
    assert "data-my-outcome" not in html
    login(client, pw, "enterprise_a")
    html = client.get("/policies/").content.decode()
    assert 'data-my-outcome="eligible"' in html and 'data-testid="to-my-matches"' in html
    assert html.count("data-my-outcome") == 1  # side b's item is not eligible for a's firm
    assert item.title in html


def test_an_enterprise_user_whose_enterprise_is_not_registered_is_told_so(client, pw):
    """No 404 for a real enterprise user whose credit code is not in the registry yet: the
    page says what is missing and where to go."""
    user = pw.users["enterprise_a"]
    type(user).objects.filter(pk=user.pk).update(credit_code="91330106MA2B3C4D5E")
    user.refresh_from_db()
    client.force_login(user)
    for url in ("/policies/mine/", "/policies/mine/profile/", "/policies/mine/inbox/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'data-testid="no-enterprise"' in html
        assert "91330106MA2B3C4D5E" in html
