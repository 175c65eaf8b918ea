"""The applicant's pages: start, the one form with prefill sources, field errors that keep good
values, uploads, submit, progress, the supplement answer."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.onestop import actions
from yiwang.onestop.models import Application, ApplicationStatus, TaskState
from yiwang.onestop.tests.factories import PDF, PNG, build_kit, submitted_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def kit(world):
    return build_kit(world)


def test_apply_page_is_public_and_asks_to_sign_in(client, kit):
    resp = client.get("/services/apply/shop/")
    assert resp.status_code == 200
    assert "事项reg" in resp.content.decode()
    assert "/accounts/login/" in resp.content.decode()


def test_start_opens_a_prefilled_draft(client, world, kit):
    client.force_login(world["enterprise_a"])
    resp = client.post("/services/apply/shop/")
    app = Application.objects.get(applicant=world["enterprise_a"])
    assert resp.status_code == 302 and resp["Location"] == f"/services/applications/{app.pk}/"
    page = client.get(resp["Location"]).content.decode()
    assert world["enterprise_a"].credit_code in page
    assert 'data-prefilled="credit_code"' in page


def test_bad_values_are_marked_and_good_ones_kept(client, world, kit):
    client.force_login(world["enterprise_a"])
    app = actions.do_start_application(actor=world["enterprise_a"], bundle_code="shop")
    resp = client.post(
        f"/services/applications/{app.pk}/save/",
        {"q_has_sign": "true", "q_area": "abc", "f_shop_name": "好店", "f_phone": "123"},
    )
    assert resp.status_code == 422
    page = resp.content.decode()
    assert 'data-error-for="answers.area"' in page and 'data-error-for="phone"' in page
    assert 'value="好店"' in page
    app.refresh_from_db()
    assert app.answers == {"has_sign": True}


def test_upload_of_the_wrong_type_shows_the_reason(client, world, kit):
    client.force_login(world["enterprise_a"])
    app = actions.do_start_application(actor=world["enterprise_a"], bundle_code="shop")
    resp = client.post(
        f"/services/applications/{app.pk}/materials/{kit.materials['lease'].pk}/",
        {"file": SimpleUploadedFile("lease.png", PNG)},
    )
    assert resp.status_code == 422
    assert 'data-error-for="materials.lease"' in resp.content.decode()


def test_submit_through_the_page_shows_every_department(client, world, kit):
    from yiwang.registry.models import Organisation

    applicant = world["enterprise_a"]
    Organisation.objects.create(credit_code=applicant.credit_code, name="测试企业a", synthetic=True)
    client.force_login(applicant)
    app = actions.do_start_application(actor=applicant, bundle_code="shop")
    client.post(f"/services/applications/{app.pk}/save/", {"q_has_sign": "false", "q_area": "20"})
    client.post(
        f"/services/applications/{app.pk}/materials/{kit.materials['lease'].pk}/",
        {"file": SimpleUploadedFile("lease.pdf", PDF)},
    )
    resp = client.post(
        f"/services/applications/{app.pk}/save/",
        {"q_has_sign": "false", "q_area": "20", "f_shop_name": "小馆", "action": "submit"},
    )
    assert resp.status_code == 422  # the deferrable plan needs the commitment
    assert 'data-error-for="materials.plan"' in resp.content.decode()
    resp = client.post(
        f"/services/applications/{app.pk}/save/",
        {
            "q_has_sign": "false",
            "q_area": "20",
            "f_shop_name": "小馆",
            "action": "submit",
            "commitment": "on",
        },
    )
    assert resp.status_code == 302
    app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED
    page = client.get(f"/services/applications/{app.pk}/").content.decode()
    for code in ("I-reg", "I-fire", "I-tax"):
        assert f'data-task="{code}"' in page
    assert 'data-task="I-sign"' not in page


def test_supplement_is_answered_from_the_page(client, world, kit):
    app = submitted_application(kit, world["enterprise_a"])
    task = app.tasks.get(implementation__code="I-reg")
    actions.do_claim_task(actor=kit.staff["scj"], task_id=task.pk)
    actions.do_request_supplement(
        actor=kit.staff["scj"], task_id=task.pk, note="请补充盖章页", materials=["lease"]
    )
    client.force_login(world["enterprise_a"])
    page = client.get(f"/services/applications/{app.pk}/").content.decode()
    assert "请补充盖章页" in page and 'data-testid="supplement-form"' in page
    client.post(
        f"/services/applications/{app.pk}/materials/{kit.materials['lease'].pk}/",
        {"file": SimpleUploadedFile("lease2.pdf", PDF + b"2")},
    )
    resp = client.post(f"/services/applications/{app.pk}/supplement/", {"note": "已补"})
    assert resp.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.CLAIMED


def test_own_file_downloads(client, world, kit):
    app = submitted_application(kit, world["enterprise_a"])
    client.force_login(world["enterprise_a"])
    resp = client.get(
        f"/services/applications/{app.pk}/materials/{kit.materials['lease'].pk}/file/"
    )
    assert resp.status_code == 200
    assert b"".join(resp.streaming_content) == PDF


def test_my_applications_lists_only_mine(client, world, kit):
    submitted_application(kit, world["enterprise_a"])
    client.force_login(world["enterprise_b"])
    assert "YW" not in client.get("/services/applications/").content.decode().split("<main")[-1]
