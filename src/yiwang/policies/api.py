"""The policies API (mounted at /api/v1/policies/)."""

from __future__ import annotations

from ninja import Router

router = Router()
