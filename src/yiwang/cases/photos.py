"""Photos with reports and with handling steps: checked by content, stored by content hash.

An upload is accepted when its first bytes are those of a JPEG, PNG or WebP image (the
declared content type and file name are not trusted) and it is at most ``MAX_PHOTO_BYTES``.
Accepted photos are stored once under ``MEDIA_ROOT/cases/<aa>/<sha256>.<ext>`` (the same
picture uploaded twice is one file) and described on the case or timeline row as
``{name, content_type, size, sha256, url}``; ``url`` is the scoped page that serves it
(``cases:photo``), never a public media URL. Checking happens before anything is written:
one bad file fails the whole report or step with a field error and nothing is stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

MAX_PHOTOS = 9
MAX_PHOTO_BYTES = 10 * 1024 * 1024
#: content type → file extension
TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def sniff(head: bytes) -> str | None:
    """The image type from the magic bytes, or ``None``."""
    if head[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Upload:
    """A checked photo, not stored yet."""

    name: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_uploads(
    files: list[Any], errors: dict[str, list[str]], field: str = "photos"
) -> list[Upload]:
    """Read and check uploaded files (Django ``UploadedFile`` objects); add field errors."""
    out: list[Upload] = []
    if len(files) > MAX_PHOTOS:
        errors.setdefault(field, []).append(_("At most %(n)d photos.") % {"n": MAX_PHOTOS})
        return []
    for f in files:
        name = str(getattr(f, "name", "") or "photo")[:200]
        size = int(getattr(f, "size", 0) or 0)
        if size > MAX_PHOTO_BYTES:
            errors.setdefault(field, []).append(
                _("“%(name)s” is larger than 10 MB.") % {"name": name}
            )
            continue
        data = f.read(MAX_PHOTO_BYTES + 1)
        if len(data) > MAX_PHOTO_BYTES:
            errors.setdefault(field, []).append(
                _("“%(name)s” is larger than 10 MB.") % {"name": name}
            )
            continue
        if not data:
            errors.setdefault(field, []).append(_("“%(name)s” is empty.") % {"name": name})
            continue
        ctype = sniff(data[:16])
        if ctype is None:
            errors.setdefault(field, []).append(
                _("“%(name)s” is not a JPEG, PNG or WebP picture.") % {"name": name}
            )
            continue
        out.append(Upload(name=name, content_type=ctype, data=data))
    return out


def path_for(sha256: str, content_type: str) -> Path:
    root = Path(settings.MEDIA_ROOT) / "cases"
    return root / sha256[:2] / f"{sha256}.{TYPES[content_type]}"


def store(upload: Upload, case_id: int) -> dict[str, Any]:
    """Write the photo (once per content) and describe it for the case or timeline row."""
    from django.urls import reverse

    digest = upload.sha256
    target = path_for(digest, upload.content_type)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(upload.data)
        tmp.replace(target)
    return {
        "name": upload.name,
        "content_type": upload.content_type,
        "size": len(upload.data),
        "sha256": digest,
        "url": reverse("cases:photo", kwargs={"case_id": case_id, "sha256": digest}),
    }


def find(case: Any, sha256: str, *, public_only: bool) -> dict[str, Any] | None:
    """The stored photo ``sha256`` if it belongs to ``case`` (its report or a timeline row the
    viewer may see)."""
    for p in case.photos or []:
        if p.get("sha256") == sha256 and p.get("content_type") in TYPES:
            return dict(p)
    events = case.events.all()
    if public_only:
        events = events.filter(public=True)
    for attachments in events.values_list("attachments", flat=True):
        for p in attachments or []:
            if p.get("sha256") == sha256 and p.get("content_type") in TYPES:
                return dict(p)
    return None
