"""Issuer signing keys: where private keys live, which key a department signs with, and the
issuer key list that verifiers (the public page, the API, offline CLI users) trust.

Private keys never enter the database. The default provider (``FileSigningKeyProvider``)
keeps one file per key id in ``YIWANG_CERT_KEY_DIR`` (default ``$YIWANG_DATA_DIR/cert-keys``),
mode 0600, holding the base64 raw private key. An HSM or KMS provider implements the same
two methods. In development and tests a department's first key is generated on first use;
in production keys are generated only on purpose (``yiwang cert keys generate``) and issuing
without one is refused with a clear message. See docs/adr/0016-electronic-certificates.md.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.accounts.models import Department
from yiwang.certs import signing
from yiwang.certs.models import Certificate, IssuerKey, KeyStatus, Revocation
from yiwang.core.errors import Conflict


class SigningKeyProvider(Protocol):
    def private_key(self, kid: str) -> bytes: ...

    def store(self, kid: str, private_key: bytes) -> None: ...


class FileSigningKeyProvider:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, kid: str) -> Path:
        if not kid or not all(c.isalnum() or c in "-_." for c in kid) or kid.startswith("."):
            raise signing.SigningError(f"bad key id {kid!r}")
        return self.directory / f"{kid}.key"

    def private_key(self, kid: str) -> bytes:
        path = self._path(kid)
        try:
            return base64.b64decode(path.read_text().strip())
        except FileNotFoundError:
            raise signing.SigningError(
                f"the private key of {kid} is not in {self.directory}"
            ) from None

    def store(self, kid: str, private_key: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(kid)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(private_key).decode() + "\n")


def key_directory() -> Path:
    configured = os.environ.get("YIWANG_CERT_KEY_DIR") or getattr(
        settings, "YIWANG_CERT_KEY_DIR", ""
    )
    return Path(configured) if configured else Path(settings.DATA_DIR) / "cert-keys"


_PROVIDER: dict[str, SigningKeyProvider] = {}


def provider() -> SigningKeyProvider:
    d = str(key_directory())
    if d not in _PROVIDER:
        _PROVIDER[d] = FileSigningKeyProvider(Path(d))
    return _PROVIDER[d]


def default_algorithm() -> str:
    return str(
        os.environ.get("YIWANG_CERT_ALGORITHM")
        or getattr(settings, "YIWANG_CERT_ALGORITHM", signing.ED25519)
    )


def auto_generate_allowed() -> bool:
    return getattr(settings, "ENV", "development") != "production"


def _new_kid(department: Department) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in department.code)[:40]
    return f"{stem}-{timezone.now():%Y%m%d}-{secrets.token_hex(3)}"


def generate_key(
    department: Department, *, algorithm: str = "", retire_current: bool = True
) -> IssuerKey:
    """A new key for the department (stored by the provider); the current one is retired."""
    algorithm = algorithm or default_algorithm()
    private = signing.generate_private_key(algorithm)
    kid = _new_kid(department)
    signer = signing.make_signer(algorithm, kid, private)
    with transaction.atomic():
        now = timezone.now().replace(microsecond=0)
        if retire_current:
            IssuerKey.objects.filter(department=department, status=KeyStatus.ACTIVE).update(
                status=KeyStatus.RETIRED, retired_at=now
            )
        provider().store(kid, private)
        key = IssuerKey.objects.create(
            kid=kid,
            algorithm=algorithm,
            public_key=signer.public_key(),
            department=department,
            valid_from=now,
        )
    _SIGNERS.pop(kid, None)
    return key


_SIGNERS: dict[str, signing.Signer] = {}


def signer_for(key: IssuerKey) -> signing.Signer:
    s = _SIGNERS.get(key.kid)
    if s is None:
        s = signing.make_signer(key.algorithm, key.kid, provider().private_key(key.kid))
        _SIGNERS[key.kid] = s
    return s


def current_key(department: Department, *, algorithm: str = "") -> IssuerKey:
    """The department's active key; generated on first use outside production."""
    key = (
        IssuerKey.objects.filter(department=department, status=KeyStatus.ACTIVE)
        .order_by("-valid_from")
        .first()
    )
    if key is not None and (not algorithm or key.algorithm == algorithm):
        return key
    if not auto_generate_allowed():
        raise Conflict(
            _(
                "%(dept)s has no signing key for certificates. An administrator runs "
                "`yiwang cert keys generate --department %(code)s`."
            )
            % {"dept": department.name, "code": department.code}
        )
    return generate_key(department, algorithm=algorithm)


_VERIFIERS: dict[tuple[str, str], signing.Verifier] = {}


def key_info(key: IssuerKey) -> signing.KeyInfo:
    cache_key = (key.kid, key.public_key)
    verifier = _VERIFIERS.get(cache_key)
    if verifier is None:
        try:
            verifier = _VERIFIERS[cache_key] = signing.make_verifier(key.algorithm, key.public_key)
        except signing.SigningError:
            verifier = None
    return signing.KeyInfo(
        kid=key.kid,
        algorithm=key.algorithm,
        public_key=key.public_key,
        issuer_code=key.department.code,
        issuer_name=key.department.name,
        valid_from=key.valid_from,
        valid_to=key.valid_to,
        retired_at=key.retired_at,
        compromised_at=key.compromised_at,
        _verifier=verifier,
    )


def key_list(*, with_revocations: bool = True) -> signing.KeyList:
    """The issuer registry as verifiers see it (public keys only)."""
    out = signing.KeyList(exported_at=timezone.now())
    for key in IssuerKey.objects.select_related("department").order_by("kid"):
        out.add(key_info(key))
    if with_revocations:
        for r in Revocation.objects.select_related("certificate").order_by("revoked_at"):
            out.revocations[r.certificate.identifier] = signing.RevocationInfo(
                r.certificate.identifier, r.revoked_at, r.reason
            )
    return out


def registry_revocation(identifier: str) -> signing.RevocationInfo | None:
    """Online revocation check against the issuer registry (this database)."""
    row = (
        Certificate.objects.filter(identifier=identifier, status="revoked")
        .select_related("revocation")
        .first()
    )
    if row is None:
        return None
    rev = getattr(row, "revocation", None)
    if rev is None:
        return signing.RevocationInfo(identifier, row.created_at, "")
    return signing.RevocationInfo(identifier, rev.revoked_at, rev.reason)
