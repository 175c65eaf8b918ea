from __future__ import annotations

from typing import Any

from django import template
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
