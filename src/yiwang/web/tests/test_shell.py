"""The shell without a browser: navigation per role, current-page marking, HTMX partials."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from yiwang.web.navigation import NAV, items_for
from yiwang.web.tests.expected import KERNEL_NAV, NAV_BY_ACCOUNT


@pytest.fixture
def demo(db):
    from yiwang import demo as demo_module

    demo_module.seed(residents=1, enterprises=1, policies=False, exchange=False, onestop=False)
    from yiwang.accounts.models import User

    return {u.username: u for u in User.objects.filter(username__in=NAV_BY_ACCOUNT)}


def nav_keys(html: str) -> list[str]:
    return re.findall(r'data-nav="(\w+)"', html)


def test_every_demo_account_is_in_the_expected_table():
    from yiwang import demo

    assert {a.username for a in demo.ACCOUNTS} == set(NAV_BY_ACCOUNT)


def test_anonymous_visitors_get_no_navigation(client, db):
    assert nav_keys(client.get("/").content.decode()) == []


@pytest.mark.parametrize("username", list(NAV_BY_ACCOUNT))
def test_each_role_sees_its_navigation(client, demo, username):
    user = demo[username]
    client.force_login(user)
    html = client.get("/", follow=True).content.decode()
    keys = nav_keys(html)
    assert keys == [i.key for i in items_for(user)]
    assert [k for k in keys if k in KERNEL_NAV] == NAV_BY_ACCOUNT[username]


def test_the_current_section_is_marked(client, demo):
    client.force_login(demo["leader"])
    staff = demo["staff"]
    for url, current in [
        ("/console/", "console"),
        ("/console/users/", "users"),
        (f"/console/users/{staff.pk}/", "users"),
    ]:
        html = client.get(url).content.decode()
        assert re.findall(r'data-nav="(\w+)" aria-current="page"', html) == [current], url


def test_current_nav_key_prefers_the_longest_match():
    request = RequestFactory().get("/console/users/7/")
    out = Template("{% load yiwang %}{% current_nav_key request items %}").render(
        Context({"request": request, "items": NAV})
    )
    assert out == "users"
    assert (
        Template("{% load yiwang %}{% current_nav_key None items %}").render(
            Context({"items": NAV})
        )
        == ""
    )


def test_unmask_with_a_short_purpose_answers_4xx_with_an_alert(client, demo):
    client.force_login(demo["leader"])
    url = f"/console/users/{demo['staff'].pk}/unmask/"
    response = client.post(
        url, {"field": "id_number", "purpose": "ab"}, headers={"hx-request": "true"}
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()
    assert demo["staff"].id_number not in response.content.decode()


def test_unmask_shows_the_value_and_says_it_was_recorded(client, demo):
    client.force_login(demo["leader"])
    url = f"/console/users/{demo['staff'].pk}/unmask/"
    response = client.post(url, {"field": "id_number", "purpose": "核实身份信息"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-testid="unmasked">{demo["staff"].id_number}<' in html
    assert "审计日志" in html


def test_user_detail_shows_masked_personal_data(client, demo):
    client.force_login(demo["leader"])
    html = client.get(f"/console/users/{demo['staff'].pk}/").content.decode()
    masked = re.search(r'data-testid="masked-id_number">([^<]*)<', html).group(1)
    assert re.fullmatch(r"\d{3}\*{11}\d{3}[\dX]", masked)
    assert demo["staff"].id_number not in html


def test_audit_verify_partial(client, demo):
    client.force_login(demo["auditadmin"])
    response = client.post("/console/audit/verify/")
    assert response.status_code == 200
    assert re.search(
        r'data-testid="verify-ok">审计链完整：已校验 \d+ 条记录。<', response.content.decode()
    )
