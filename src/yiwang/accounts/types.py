from __future__ import annotations

from django.http import HttpRequest

from yiwang.accounts.models import User


class AuthedRequest(HttpRequest):
    """A request that passed authentication: ``user`` is a real ``User``."""

    user: User
