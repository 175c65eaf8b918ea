"""The demo registry: the demo resident has their own entry and access log, every care tag is
seeded, and the seed depends on no test module."""

from __future__ import annotations

import ast
import inspect

import pytest

from yiwang.accounts.models import User
from yiwang.registry import demo as registry_demo
from yiwang.registry import selectors
from yiwang.registry.models import Person, Tag


@pytest.fixture
def seeded(db):
    from yiwang import demo

    demo.seed(
        residents=1,
        enterprises=1,
        people=1500,
        things=10,
        organisations=5,
        cases=0,
        policies=False,
        exchange=False,
        onestop=False,
    )
    return User.objects.get(username=registry_demo.DEMO_RESIDENT)


@pytest.mark.django_db
def test_demo_resident_sees_their_entry_and_who_read_it(client, seeded):
    person = selectors.my_person(seeded)
    assert person is not None and person.synthetic
    assert person.name == seeded.display_name and person.grid_id is not None
    assert person.home is not None
    accesses = list(selectors.accesses_to_my_person(seeded, person))
    assert {(a.event, a.actor) for a in accesses} == {
        ("personal.read", "gridworker"),
        ("personal.unmask", "operator"),
    }
    client.force_login(seeded)
    page = client.get("/console/registry/mine/")
    assert page.status_code == 200
    assert person.name in page.content.decode()
    # Seeding again adds nothing: the entry is found by the account's ID number.
    from yiwang import demo

    before = Person.objects.count()
    demo.seed(
        residents=1,
        enterprises=1,
        people=1500,
        things=10,
        organisations=5,
        cases=0,
        policies=False,
        exchange=False,
        onestop=False,
    )
    assert Person.objects.count() == before
    assert len(list(selectors.accesses_to_my_person(seeded, person))) == 2


@pytest.mark.django_db
def test_demo_seeds_every_care_tag_in_small_shares(seeded):
    people = Person.objects.filter(synthetic=True).count()
    counts = {
        t: sum(1 for tags in Person.objects.values_list("tags", flat=True) if t in tags)
        for t in Tag.values
    }
    assert all(counts.values()), counts
    assert all(n < people * 0.05 for n in counts.values()), counts
    assert counts[Tag.KEY_PERSON] < counts[Tag.DISABLED]


def test_demo_imports_no_test_module():
    tree = ast.parse(inspect.getsource(registry_demo))
    modules = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] + [
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    ]
    assert not [m for m in modules if ".tests" in m or m.startswith("tests")]
    assert registry_demo.rect(0, 0, 1, 1)["coordinates"][0][2] == [1, 1]
