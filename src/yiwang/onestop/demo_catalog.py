"""Seed the demo district's matter catalog and bundles from ``content/`` (idempotent)."""

from __future__ import annotations

from django.conf import settings

from yiwang.onestop.catalog import CatalogReport, load_catalog


def seed_catalog(*, district_code: str = "") -> CatalogReport:
    """Load the shipped catalog for the district's departments (codes ``<district>-<suffix>``,
    as ``yiwang.demo.seed`` makes them). A second run changes nothing. Raises ``ValueError``
    with every problem when the content does not load."""
    code = district_code or settings.YIWANG_DEMO_DIVISION
    report = load_catalog(department_prefix=f"{code}-")
    if report.problems:
        raise ValueError(
            "the onestop catalog did not load:\n" + "\n".join(str(p) for p in report.problems)
        )
    return report
