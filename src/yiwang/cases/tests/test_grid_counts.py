"""事 on the grid map and profile: open and overdue cases per grid, scoped like the registry's
counts (registered in ``grid.counts`` by ``CasesConfig.ready``)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from yiwang.cases.models import Case, SlaLevel
from yiwang.cases.tests.factories import report, to_state
from yiwang.grid import counts


def _ids(w):
    return [w.extra["grid_a"].pk, w.extra["grid_a2"].pk, w.extra["grid_b"].pk]


def test_cases_register_their_metrics(db):
    by_key = {m.key: m for m in counts.metrics()}
    assert by_key["cases"].list_url == "cases:list"
    assert by_key["cases_overdue"].list_url == "cases:list"
    # After the registry's 人/地/物/组织.
    keys = [m.key for m in counts.metrics()]
    assert keys.index("cases") > keys.index("organisations")


@pytest.mark.django_db
def test_open_and_overdue_cases_per_grid_in_scope(cw):
    ga, ga2, gb = _ids(cw)
    got = counts.counts_for(cw.users["operator_a"], [ga, ga2, gb])
    assert got[ga]["cases"] == 1 and got[ga]["cases_overdue"] == 0
    assert got[ga2]["cases"] == 0
    assert got[gb]["cases"] == 0  # district B's case: out of scope, not counted
    assert counts.counts_for(cw.users["operator_b"], [gb])[gb]["cases"] == 1

    Case.objects.filter(pk=cw.extra["case_a"].pk).update(sla_level=SlaLevel.RED)
    report(cw, "a")  # a second open case in grid a
    got = counts.counts_for(cw.users["operator_a"], [ga])
    assert (got[ga]["cases"], got[ga]["cases_overdue"]) == (2, 1)


@pytest.mark.django_db
def test_closed_cases_are_not_counted(cw):
    ga = cw.extra["grid_a"].pk
    to_state(cw, cw.extra["case_a"], "closed")
    assert counts.counts_for(cw.users["operator_a"], [ga])[ga]["cases"] == 0


@pytest.mark.django_db
def test_grid_worker_counts_only_their_grid_and_data_admin_sees_no_cases(cw):
    ga, _ga2, gb = _ids(cw)
    assert counts.counts_for(cw.users["grid_worker_a"], [ga])[ga]["cases"] == 1
    assert counts.counts_for(cw.users["grid_worker_b"], [ga])[ga]["cases"] == 0
    # A data administrator sees the grids but not cases (no cases.view): nothing counted.
    assert counts.counts_for(cw.users["data_admin_a"], [ga])[ga]["cases"] == 0
    assert counts.counts_for(cw.users["operator_a"], [gb])[gb]["cases"] == 0


@pytest.mark.django_db
def test_profile_shows_cases_and_the_map_colours_by_them(client, cw):
    grid = cw.extra["grid_a"]
    client.force_login(cw.users["grid_worker_a"])
    page = client.get(reverse("grid:profile", args=[grid.pk])).content.decode()
    assert re.search(r'data-count="cases">.*?<span class="stat-value">1</span>', page, flags=re.S)
    assert f"{reverse('cases:list')}?grid={grid.code}" in page
    assert "stat-pending" not in page
    data = client.get(
        reverse("grid:map_data"), {"community": cw.divisions["community_a"].code}
    ).json()
    props = {f["properties"]["code"]: f["properties"] for f in data["features"]}
    assert props[grid.code]["cases"] == 1 and props[grid.code]["cases_overdue"] == 0
    resp = client.get(reverse("grid:map"), {"metric": "cases"})
    page = resp.content.decode()
    assert 'data-metric="cases"' in page
    # The table has a cell under every metric's column, the cases ones too.
    row = re.search(r"<tr>\s*<td><a [^>]*data-unit=.*?</tr>", page, flags=re.S).group(0)
    cells = re.findall(r'<td class="num">(\d+)</td>', row)
    assert len(cells) == 1 + len(counts.metrics())  # the grid count, then each metric
    assert cells[1 + [m.key for m in counts.metrics()].index("cases")] == "1"


@pytest.mark.django_db
def test_profile_links_the_case_list_only_for_those_who_see_cases(client, cw):
    grid = cw.extra["grid_a"]
    client.force_login(cw.users["data_admin_a"])  # sees grids, not cases
    page = client.get(reverse("grid:profile", args=[grid.pk])).content.decode()
    assert 'data-count="cases"' in page
    assert reverse("cases:list") not in page
    assert f"{reverse('registry:people')}?grid={grid.code}" in page
