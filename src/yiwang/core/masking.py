"""Display masking: shown by default; unmasking is a permission and is audited elsewhere."""

from __future__ import annotations


def mask_id_number(value: str) -> str:
    """``110101199003071234`` → ``110***********1234`` (first 3, last 4 kept)."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """``张三丰`` → ``张*丰``; ``张三`` → ``张*``; ``欧阳娜娜`` → ``欧**娜``."""
    if not value:
        return ""
    if len(value) == 1:
        return "*"
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_credit_code(value: str) -> str:
    """Credit codes are public; legal representatives' IDs are not. Kept for symmetry."""
    return value


def mask_address(value: str, keep: int = 6) -> str:
    if not value:
        return ""
    return value[:keep] + "****" if len(value) > keep else value


def mask_email(value: str) -> str:
    if "@" not in value:
        return mask_name(value)
    local, _, domain = value.partition("@")
    return (local[:1] + "***" if local else "") + "@" + domain


MASKERS = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "name": mask_name,
    "address": mask_address,
    "email": mask_email,
}
