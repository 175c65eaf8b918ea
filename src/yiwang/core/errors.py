"""Domain errors with a stable code, a translatable message and field-level details.

The API turns them into ``{"code", "message", "fields"}`` with the error's HTTP status.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400
    code = "invalid"
    default_message: Any = _("The request is not valid.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        status: int | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}
        super().__init__(str(self.message))


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"
    default_message = _("Some fields are not valid.")


class NotFound(DomainError):
    """Also what an out-of-scope object answers: its existence is not disclosed."""

    status = 404
    code = "not_found"
    default_message = _("Not found.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = _("You may not do this.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _("The request conflicts with the current state.")


class Errors(dict[str, list[str]]):
    """Field errors collected while checking input; ``raise_if_any`` raises them together."""

    def add(self, field: str, message: Any) -> None:
        self.setdefault(field, []).append(str(message))

    def raise_if_any(self) -> None:
        if self:
            raise ValidationFailed(fields=dict(self))
