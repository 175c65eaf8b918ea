"""The exchange API (mounted at /api/v1/exchange/)."""

from __future__ import annotations

from ninja import Router

router = Router()
