"""Each person's language: pages, in-app messages, email and SMS (ADR 0022).

The language a person chose (``User.language``, set by the language switch while logged in
or through ``PUT /api/v1/me/language``) follows them to every device and into the
background jobs that write to them; blank means the platform default
(``settings.LANGUAGE_CODE``, zh-Hans). People known only by contact details (a reporter
through 12345 or Open311) get the default.

    with in_language_of(user):
        subject, body = compose(...)   # gettext now speaks the reader's language
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils import translation

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def language_of(user: Any | None) -> str:
    """The language to write to ``user`` in (``None``: someone without an account)."""
    chosen = getattr(user, "language", "") or ""
    return chosen if chosen in LANGUAGE_CODES else settings.LANGUAGE_CODE


@contextmanager
def in_language_of(user: Any | None) -> Iterator[str]:
    """Translations in ``user``'s language inside the block (yields the code)."""
    lang = language_of(user)
    with translation.override(lang):
        yield lang


__all__ = ["LANGUAGE_CODES", "in_language_of", "language_of"]
