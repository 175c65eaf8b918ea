from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from yiwang.core.masking import mask_email, mask_id_number, mask_name, mask_phone

register = template.Library()


@register.filter
def masked_fields(person: Any) -> list[tuple[str, str, str]]:
    """(field, label, masked value) for a user's personal fields."""
    return [
        ("display_name", _("Real name"), mask_name(person.display_name)),
        ("id_number", _("ID number"), mask_id_number(person.id_number)),
        ("phone", _("Mobile phone"), mask_phone(person.phone)),
        ("email", _("Email"), mask_email(person.email)),
    ]


@register.simple_tag
def current_nav_key(request: HttpRequest | None, items: Iterable[Any]) -> str:
    """The key of the navigation entry the current page belongs to: the entry whose URL is
    the longest prefix of the request path (``/console/users/7/`` → ``users``, not
    ``console``). Empty when none matches."""
    if request is None:
        return ""
    best, best_len = "", 0
    for item in items:
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        if request.path.startswith(url) and len(url) > best_len:
            best, best_len = item.key, len(url)
    return best
