"""The certificates demo seed: types, certificates for the demo accounts, idempotent."""

from __future__ import annotations

import pytest

from yiwang.certs import actions
from yiwang.certs.models import Certificate, CertificateCopy, CertificateType


@pytest.fixture
def demo_district(db, settings):
    from yiwang.demo import seed

    return seed(
        residents=5,
        enterprises=1,
        people=5,
        things=0,
        organisations=1,
        cases=0,
        policies=False,
        exchange=False,
    )


def test_seed_issues_verifiable_certificates_once(demo_district):
    from yiwang.certs.demo import seed

    first = demo_district.certs  # yiwang.demo.seed runs the certificates seed
    assert first.types == 0  # the migration made them
    assert first.certificates >= 5
    assert first.revoked == 1 and first.copies == 1
    again = seed()
    assert again.certificates == 0 and again.types == 0
    assert CertificateType.objects.count() == 7
    valid = [c for c in Certificate.objects.all() if c.status == "valid"]
    assert all(actions.verify(c.payload()).valid for c in valid)
    assert CertificateCopy.objects.count() == 1
