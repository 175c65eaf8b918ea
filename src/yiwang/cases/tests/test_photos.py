"""Photos with reports and steps: checked by content and size, stored by hash, served in scope."""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.cases import photos
from yiwang.cases.models import Case, CaseEvent
from yiwang.cases.tests.factories import loc, to_state


def _png(w: int = 2, h: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * w for _ in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG = _png()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def _login(client, cw, key):
    client.force_login(cw.users[key])


def _case_json(cw, **extra):
    return json.dumps(
        {
            "category": "C01004",
            "description": "井盖破损",
            **loc(cw),
            "attributes": {"hazard": "yes"},
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("data", "ctype"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (b"GIF89a....", None)],
)
def test_sniff_by_magic_bytes(data, ctype):
    assert photos.sniff(data[:16]) == ctype


def test_api_report_with_photos_stores_by_hash_and_serves_in_scope(client, cw, media):
    _login(client, cw, "resident_a")
    resp = client.post(
        "/api/v1/cases/with-photos",
        {
            "case": _case_json(cw),
            "photos": [
                SimpleUploadedFile("井盖.png", PNG, content_type="application/octet-stream"),
                SimpleUploadedFile("b.jpg", JPEG, content_type="image/jpeg"),
            ],
        },
    )
    assert resp.status_code == 201, resp.content
    out = resp.json()
    digest = hashlib.sha256(PNG).hexdigest()
    first = out["photos"][0]
    assert (first["content_type"], first["size"], first["sha256"]) == (
        "image/png",
        len(PNG),
        digest,
    )
    assert (media / "cases" / digest[:2] / f"{digest}.png").read_bytes() == PNG
    case = Case.objects.get(pk=out["id"])
    assert CaseEvent.objects.get(case=case, transition="report").attachments == case.photos
    # the reporter sees it; another resident does not; the operator in scope does
    got = client.get(first["url"])
    assert got.status_code == 200 and got["Content-Type"] == "image/png"
    assert b"".join(got.streaming_content) == PNG
    _login(client, cw, "resident_b")
    assert client.get(first["url"]).status_code == 404
    _login(client, cw, "operator_a")
    assert client.get(first["url"]).status_code == 200
    assert client.get(first["url"].replace(digest, "0" * 64)).status_code == 404


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("x.jpg", b"not a picture at all", content_type="image/jpeg"), "JPEG"),
        (SimpleUploadedFile("big.png", PNG + b"\x00" * 200, content_type="image/png"), "10 MB"),
    ],
)
def test_bad_photo_is_a_field_error_and_nothing_is_created(
    client, cw, media, monkeypatch, upload, message
):
    monkeypatch.setattr(photos, "MAX_PHOTO_BYTES", len(PNG) + 100)
    _login(client, cw, "resident_a")
    before = Case.objects.count()
    resp = client.post(
        "/api/v1/cases/with-photos",
        {"case": _case_json(cw), "photos": [SimpleUploadedFile("ok.png", PNG), upload]},
    )
    assert resp.status_code == 422
    assert message in " ".join(resp.json()["fields"]["photos"])
    assert Case.objects.count() == before
    assert not media.exists() or not any(media.rglob("*.png"))


def test_resident_report_page_uploads_a_photo_shown_on_my_case(client, cw):
    _login(client, cw, "resident_a")
    form = {
        "category": "C01004",
        "description": "井盖破损",
        "attr-C01004-hazard": "yes",
        "lng": str(loc(cw)["lng"]),
        "lat": str(loc(cw)["lat"]),
    }
    bad = client.post(
        "/console/cases/report/",
        {**form, "photos": SimpleUploadedFile("a.png", b"%PDF-1.4")},
    )
    assert bad.status_code == 422 and 'id="photos-err"' in bad.content.decode()
    resp = client.post(
        "/console/cases/report/", {**form, "photos": SimpleUploadedFile("a.png", PNG)}
    )
    assert resp.status_code == 302
    case = Case.objects.latest("pk")
    assert [p["sha256"] for p in case.photos] == [hashlib.sha256(PNG).hexdigest()]
    page = client.get(f"/console/cases/mine/{case.pk}/").content.decode()
    assert 'data-testid="case-photos"' in page and case.photos[0]["url"] in page


def test_handler_attaches_evidence_to_a_step(client, cw):
    case = to_state(cw, cw.extra["case_a"], "handling")
    _login(client, cw, "dept_staff_a")
    page = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert 'id="photos-feedback"' in page
    resp = client.post(
        f"/console/cases/{case.pk}/transition/",
        {
            "transition": "feedback",
            "note": "已更换井盖",
            "attachments": SimpleUploadedFile("after.webp", WEBP),
        },
    )
    assert resp.status_code == 302
    ev = CaseEvent.objects.get(case=case, transition="feedback")
    assert ev.attachments[0]["content_type"] == "image/webp"
    # the reporter sees the evidence on their case page (a public step)
    _login(client, cw, "resident_a")
    page = client.get(f"/console/cases/mine/{case.pk}/").content.decode()
    assert ev.attachments[0]["url"] in page
    assert client.get(ev.attachments[0]["url"]).status_code == 200
