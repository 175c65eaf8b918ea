"""Signed certificate payloads: signers, the canonical form, the QR payload and verification.

This module imports nothing from Django, so ``yiwang cert verify --keys keys.json`` works
offline against an exported issuer key list, and the same code verifies on the server.

- A **signer** (``Signer`` protocol) signs bytes under a key id: ``Ed25519Signer`` (default,
  ``cryptography``) or ``Sm2Signer`` (SM2 with SM3 and the default user id, from the optional
  pure-Python ``gmssl`` package). A ``Verifier`` checks with the public key only.
- The **claims** of a certificate or a copy (加注件) are a flat dict with short keys (see
  ``CLAIM_KEYS`` and docs/certs.md). What is signed is ``canonical(claims)``: UTF-8 JSON with
  sorted keys, no spaces, non-ASCII as is — deterministic, so anyone can rebuild it.
- The **QR payload** is ``YWC1:`` + base45(zlib(canonical(claims + {"sig": base64url}))),
  as the EU Digital COVID Certificate does with CBOR. It never holds the holder's full ID
  number: only a masked form and a hash bound to the certificate identifier.
- ``verify_payload`` answers a structured ``Verification``: valid or invalid, with every reason.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

PREFIX = "YWC1:"
KEYS_FORMAT = "yiwang-cert-keys/1"
ED25519 = "Ed25519"
SM2 = "SM2"
ALGORITHMS = (ED25519, SM2)

KIND_CERTIFICATE = "cert"
KIND_COPY = "copy"

#: The claim keys and what they mean (GB/T 36903 metadata; docs/certs.md).
CLAIM_KEYS = {
    "v": "payload version (1)",
    "k": "kind: cert (certificate) or copy (加注件)",
    "id": "certificate identifier (电子证照标识)",
    "tc": "certificate type code",
    "tn": "certificate type name",
    "no": "certificate number (证照编号)",
    "hn": "holder name",
    "hct": "holder code type: ric (身份证) or uscc (统一社会信用代码)",
    "hcm": "holder code, masked for an ID number",
    "hch": "holder code hash: sha256(identifier|code) in hex, first 32 characters",
    "ian": "issuing authority name",
    "iac": "issuing authority code",
    "ia": "issue date YYYY-MM-DD",
    "vf": "valid from YYYY-MM-DD",
    "vt": "valid to YYYY-MM-DD, or null for long-term (长期有效)",
    "ac": "area code (GB/T 2260)",
    "dh": "sha256 of the canonical JSON of the certificate's data fields",
    "kid": "signing key id",
    "alg": "Ed25519 or SM2",
    "iat": "signed at, Unix seconds",
    "cid": "copy identifier (copy only)",
    "pu": "purpose / cause of use (copy only)",
    "rn": "recipient department name (copy only)",
    "rc": "recipient department code (copy only)",
    "cr": "creator, masked (copy only)",
    "ex": "copy expires at, ISO 8601 UTC (copy only)",
}


def _(message: str) -> str:  # marks messages for translation; translated where shown
    return message


class SigningError(Exception):
    """A key is missing, malformed, or its algorithm is unavailable."""


# --- base45 (RFC 9285) --------------------------------------------------------------------------
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_PAIRS = [B45[i % 45] + B45[i // 45] for i in range(45 * 45)]  # low two digits of a group
_B45_VALUES = bytes(B45.index(chr(c)) if chr(c) in B45 else 255 for c in range(256))


_B45_ALPHABET = np.frombuffer(B45.encode(), dtype=np.uint8)
_B45_LUT = np.frombuffer(_B45_VALUES, dtype=np.uint8)
_B45_WEIGHTS = np.array([1, 45, 2025], dtype=np.uint32)


def b45encode(data: bytes) -> str:
    """Two bytes to three characters (least significant first), one byte to two."""
    even = len(data) & ~1
    n = np.frombuffer(data, dtype=">u2", count=even // 2).astype(np.uint32)
    digits = np.empty((len(n), 3), dtype=np.uint32)
    digits[:, 0] = n % 45
    digits[:, 1] = (n // 45) % 45
    digits[:, 2] = n // 2025
    out = _B45_ALPHABET[digits.ravel()].tobytes().decode("ascii")
    if len(data) & 1:
        out += _B45_PAIRS[data[-1]]
    return out


def b45decode(text: str) -> bytes:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("not base45: non-ASCII text") from None
    vals = _B45_LUT[np.frombuffer(raw, dtype=np.uint8)]
    if (vals == 255).any():
        raise ValueError("not base45: a character outside the alphabet")
    full, rest = divmod(len(vals), 3)
    if rest == 1:
        raise ValueError("base45 text has a dangling character")
    words = vals[: full * 3].reshape(-1, 3).astype(np.uint32) @ _B45_WEIGHTS
    if full and int(words.max()) > 0xFFFF:
        raise ValueError("base45 group out of range")
    out = words.astype(">u2").tobytes()
    if rest == 2:
        last = int(vals[-2]) + int(vals[-1]) * 45
        if last > 0xFF:
            raise ValueError("base45 group out of range")
        out += bytes([last])
    return out


# --- canonical form -----------------------------------------------------------------------------
def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def data_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def normalize_code(code: str) -> str:
    return "".join(code.split()).upper()


def holder_code_hash(identifier: str, code: str) -> str:
    return hashlib.sha256(f"{identifier}|{normalize_code(code)}".encode()).hexdigest()[:32]


def mask_code(code: str, code_type: str) -> str:
    code = normalize_code(code)
    if code_type == "uscc":  # credit codes are public
        return code
    if len(code) <= 7:
        return "*" * len(code)
    return code[:3] + "*" * (len(code) - 7) + code[-4:]


def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- signers ------------------------------------------------------------------------------------
class Signer(Protocol):
    algorithm: str
    kid: str

    def sign(self, message: bytes) -> bytes: ...

    def verify(self, message: bytes, signature: bytes) -> bool: ...

    def public_key(self) -> str: ...


class Verifier(Protocol):
    algorithm: str

    def verify(self, message: bytes, signature: bytes) -> bool: ...


class Ed25519Signer:
    algorithm = ED25519

    def __init__(self, kid: str, private_key: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if len(private_key) != 32:
            raise SigningError(f"an Ed25519 private key is 32 bytes, not {len(private_key)}")
        self.kid = kid
        self._key = Ed25519PrivateKey.from_private_bytes(private_key)
        self._verifier = Ed25519Verifier(self._public_raw())

    @staticmethod
    def generate_private_key() -> bytes:
        return os.urandom(32)

    def _public_raw(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def verify(self, message: bytes, signature: bytes) -> bool:
        return self._verifier.verify(message, signature)

    def public_key(self) -> str:
        return _b64u(self._public_raw())


class Ed25519Verifier:
    algorithm = ED25519

    def __init__(self, public_key: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        if len(public_key) != 32:
            raise SigningError("an Ed25519 public key is 32 bytes")
        self._key = Ed25519PublicKey.from_public_bytes(public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def _gmssl_sm2() -> Any:
    try:
        from gmssl import sm2
    except ImportError:
        raise SigningError(
            "SM2 needs the optional 'gmssl' package: pip install 'yiwang[sm2]' (or gmssl)"
        ) from None
    return sm2


class Sm2Signer:
    """SM2 signature with SM3 (GB/T 32918, default user id), via the pure-Python ``gmssl``."""

    algorithm = SM2

    def __init__(self, kid: str, private_key: bytes) -> None:
        sm2 = _gmssl_sm2()
        if len(private_key) != 32:
            raise SigningError(f"an SM2 private key is 32 bytes, not {len(private_key)}")
        self.kid = kid
        priv = private_key.hex()
        pub = sm2.CryptSM2(private_key=priv, public_key="")._kg(
            int(priv, 16), sm2.default_ecc_table["g"]
        )
        self._pub = bytes.fromhex(pub)
        self._crypt = sm2.CryptSM2(private_key=priv, public_key=pub)
        self._crypt.public_key = pub  # gmssl lstrip("04")s a key whose x starts with 04
        self._verifier = Sm2Verifier(self._pub)

    @staticmethod
    def generate_private_key() -> bytes:
        sm2 = _gmssl_sm2()
        n = int(sm2.default_ecc_table["n"], 16)
        return (int.from_bytes(os.urandom(40), "big") % (n - 1) + 1).to_bytes(32, "big")

    def sign(self, message: bytes) -> bytes:
        return bytes.fromhex(self._crypt.sign_with_sm3(message))

    def verify(self, message: bytes, signature: bytes) -> bool:
        return self._verifier.verify(message, signature)

    def public_key(self) -> str:
        return _b64u(self._pub)


class Sm2Verifier:
    algorithm = SM2

    def __init__(self, public_key: bytes) -> None:
        sm2 = _gmssl_sm2()
        if len(public_key) != 64:
            raise SigningError("an SM2 public key is 64 bytes (x || y)")
        self._crypt = sm2.CryptSM2(private_key="", public_key=public_key.hex())
        self._crypt.public_key = public_key.hex()  # not gmssl's lstrip("04") of it

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            return bool(self._crypt.verify_with_sm3(signature.hex(), message))
        except Exception:  # gmssl raises on points off the curve
            return False


def make_signer(algorithm: str, kid: str, private_key: bytes) -> Signer:
    if algorithm == ED25519:
        return Ed25519Signer(kid, private_key)
    if algorithm == SM2:
        return Sm2Signer(kid, private_key)
    raise SigningError(f"unknown signature algorithm {algorithm!r}")


def generate_private_key(algorithm: str) -> bytes:
    if algorithm == ED25519:
        return Ed25519Signer.generate_private_key()
    if algorithm == SM2:
        return Sm2Signer.generate_private_key()
    raise SigningError(f"unknown signature algorithm {algorithm!r}")


def make_verifier(algorithm: str, public_key: str) -> Verifier:
    raw = _unb64u(public_key)
    if algorithm == ED25519:
        return Ed25519Verifier(raw)
    if algorithm == SM2:
        return Sm2Verifier(raw)
    raise SigningError(f"unknown signature algorithm {algorithm!r}")


# --- signing and the QR payload -----------------------------------------------------------------
def sign_claims(claims: dict[str, Any], signer: Signer) -> tuple[dict[str, Any], bytes]:
    """Set ``kid``/``alg`` on the claims and sign their canonical form."""
    claims = {**claims, "kid": signer.kid, "alg": signer.algorithm}
    claims.pop("sig", None)
    return claims, signer.sign(canonical(claims))


def sign_and_encode(claims: dict[str, Any], signer: Signer) -> tuple[dict[str, Any], bytes, str]:
    """Sign the claims and build their QR text in one pass: ``(claims, signature, payload)``."""
    claims = {**claims, "kid": signer.kid, "alg": signer.algorithm}
    claims.pop("sig", None)
    message = canonical(claims)
    signature = signer.sign(message)
    return claims, signature, encode_payload(claims, signature, message)


def encode_payload(claims: dict[str, Any], signature: bytes, message: bytes = b"") -> str:
    """The QR text. ``message`` (the canonical claims, when the caller has them) saves
    serialising twice; the signature is appended as the last member (the body need not be
    canonical: verifiers rebuild the canonical form from the claims)."""
    message = message or canonical(claims)
    sep = b"," if len(message) > 2 else b""
    body = message[:-1] + sep + b'"sig":"' + _b64u(signature).encode() + b'"}'
    return PREFIX + b45encode(zlib.compress(body, 9))


class PayloadError(ValueError):
    """The text is not a certificate payload (reason code and message attached)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def extract_payload(text: str) -> str:
    """The ``YWC1:`` payload from a bare payload or a verification link holding ``?p=``."""
    text = text.strip()
    if text.startswith(("http://", "https://", "/")) and "p=" in text:
        values = parse_qs(urlsplit(text).query).get("p")
        if values:
            return values[0].strip()
    if "%3A" in text[:12]:
        text = unquote(text)
    return text


def decode_payload(text: str) -> tuple[dict[str, Any], bytes]:
    """``(claims, signature)``; raises ``PayloadError`` when it cannot be read."""
    text = extract_payload(text)
    if not text.startswith(PREFIX):
        raise PayloadError("malformed", _("This is not a certificate payload (no YWC1: prefix)."))
    try:
        body = zlib.decompress(b45decode(text[len(PREFIX) :]))
        obj = json.loads(body)
    except (ValueError, zlib.error, UnicodeDecodeError):
        raise PayloadError(
            "malformed", _("The payload cannot be read: it is damaged or incomplete.")
        ) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("sig"), str):
        raise PayloadError("malformed", _("The payload carries no signature."))
    text_sig = obj.pop("sig")
    try:
        sig = _unb64u(text_sig)
    except (binascii.Error, ValueError):
        sig = b""
    if not sig or _b64u(sig) != text_sig:  # strict: no padding bits or characters to spare
        raise PayloadError("malformed", _("The payload's signature is not readable."))
    return obj, sig


# --- the issuer key list ------------------------------------------------------------------------
@dataclass
class KeyInfo:
    kid: str
    algorithm: str
    public_key: str
    issuer_code: str = ""
    issuer_name: str = ""
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    retired_at: dt.datetime | None = None
    compromised_at: dt.datetime | None = None
    _verifier: Verifier | None = field(default=None, repr=False)

    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = make_verifier(self.algorithm, self.public_key)
        return self._verifier

    def to_json(self) -> dict[str, Any]:
        def iso(v: dt.datetime | None) -> str | None:
            return v.astimezone(dt.UTC).isoformat() if v else None

        return {
            "kid": self.kid,
            "alg": self.algorithm,
            "public_key": self.public_key,
            "issuer_code": self.issuer_code,
            "issuer_name": self.issuer_name,
            "valid_from": iso(self.valid_from),
            "valid_to": iso(self.valid_to),
            "retired_at": iso(self.retired_at),
            "compromised_at": iso(self.compromised_at),
        }


@dataclass(frozen=True)
class RevocationInfo:
    identifier: str
    revoked_at: dt.datetime
    reason: str


def _dt(value: Any) -> dt.datetime | None:
    if not value:
        return None
    out = dt.datetime.fromisoformat(str(value))
    return out if out.tzinfo else out.replace(tzinfo=dt.UTC)


@dataclass
class KeyList:
    """What a verifier trusts: issuer keys and (offline) the revocations known at export."""

    keys: dict[str, KeyInfo] = field(default_factory=dict)
    revocations: dict[str, RevocationInfo] = field(default_factory=dict)
    exported_at: dt.datetime | None = None

    def add(self, key: KeyInfo) -> None:
        self.keys[key.kid] = key

    def to_json(self) -> dict[str, Any]:
        return {
            "format": KEYS_FORMAT,
            "exported_at": (self.exported_at or dt.datetime.now(dt.UTC)).isoformat(),
            "keys": [k.to_json() for k in self.keys.values()],
            "revocations": [
                {"id": r.identifier, "revoked_at": r.revoked_at.isoformat(), "reason": r.reason}
                for r in self.revocations.values()
            ],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> KeyList:
        if not isinstance(obj, dict) or obj.get("format") != KEYS_FORMAT:
            raise SigningError(f"not an issuer key list (format {KEYS_FORMAT!r} expected)")
        out = cls(exported_at=_dt(obj.get("exported_at")))
        for k in obj.get("keys", []):
            out.add(
                KeyInfo(
                    kid=str(k["kid"]),
                    algorithm=str(k["alg"]),
                    public_key=str(k["public_key"]),
                    issuer_code=str(k.get("issuer_code", "")),
                    issuer_name=str(k.get("issuer_name", "")),
                    valid_from=_dt(k.get("valid_from")),
                    valid_to=_dt(k.get("valid_to")),
                    retired_at=_dt(k.get("retired_at")),
                    compromised_at=_dt(k.get("compromised_at")),
                )
            )
        for r in obj.get("revocations", []):
            at = _dt(r["revoked_at"])
            assert at is not None
            out.revocations[str(r["id"])] = RevocationInfo(str(r["id"]), at, str(r["reason"]))
        return out


# --- verification -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reason:
    code: str
    message: str  # an English msgid; ``text()`` translates it where Django is configured
    params: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        msg = self.message
        try:
            from django.conf import settings

            if settings.configured:
                from django.utils.translation import gettext

                msg = gettext(msg)
        except Exception:  # no Django, or not set up: the English text
            msg = self.message
        return msg.format(**dict(self.params)) if self.params else msg


REASON_MESSAGES = {
    "bad_signature": _("Signature does not match: the content was altered."),
    "unknown_key": _("The signing key {kid} is not in the issuer key list."),
    "algorithm_mismatch": _("The payload names algorithm {alg}, but key {kid} is {key_alg}."),
    "key_compromised": _("The signing key {kid} was reported compromised on {date}."),
    "key_retired": _("The signing key {kid} was retired on {date}, before this was signed."),
    "key_not_valid": _("The signing key {kid} was not valid when this was signed."),
    "not_yet_valid": _("The certificate is valid only from {date}."),
    "expired": _("The certificate expired on {date}."),
    "revoked": _("The certificate was revoked on {date}: {reason}"),
    "copy_expired": _("This copy (加注件) expired at {date}."),
    "holder_mismatch": _("The holder code given does not match the certificate's holder."),
    "data_mismatch": _("The certificate data does not match the signed data hash."),
    "incomplete": _("The payload lacks required fields: {fields}."),
}

REQUIRED = ("v", "k", "id", "tc", "no", "hn", "hch", "iac", "ia", "vf", "kid", "alg", "iat")
REQUIRED_COPY = ("cid", "pu", "rc", "ex")


def reason(code: str, **params: Any) -> Reason:
    return Reason(code, REASON_MESSAGES[code], tuple((k, str(v)) for k, v in params.items()))


@dataclass
class Verification:
    valid: bool
    reasons: list[Reason] = field(default_factory=list)
    claims: dict[str, Any] = field(default_factory=dict)
    signature_ok: bool = False
    key: KeyInfo | None = None
    revocation: RevocationInfo | None = None
    checked_registry: bool = False

    @property
    def kind(self) -> str:
        return str(self.claims.get("k", ""))

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def summary(self) -> str:
        if self.valid:
            return "valid"
        return "; ".join(r.text() for r in self.reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "kind": self.kind,
            "reasons": [{"code": r.code, "message": r.text()} for r in self.reasons],
            "claims": self.claims,
            "signature_ok": self.signature_ok,
            "checked_registry": self.checked_registry,
        }


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def verify_claims(
    claims: dict[str, Any],
    signature: bytes,
    keys: KeyList,
    *,
    now: dt.datetime | None = None,
    revocation_lookup: Callable[[str], RevocationInfo | None] | None = None,
    holder_code: str = "",
    data: dict[str, Any] | None = None,
) -> Verification:
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()  # Asia/Shanghai
    result = Verification(valid=False, claims=claims)
    required: Iterable[str] = REQUIRED + (REQUIRED_COPY if claims.get("k") == KIND_COPY else ())
    missing = [k for k in required if k not in claims]
    if missing:
        result.reasons.append(reason("incomplete", fields=", ".join(missing)))
        return result
    kid, alg = str(claims["kid"]), str(claims["alg"])
    key = keys.keys.get(kid)
    if key is None:
        result.reasons.append(reason("unknown_key", kid=kid))
        return result
    result.key = key
    if key.algorithm != alg:
        result.reasons.append(reason("algorithm_mismatch", alg=alg, kid=kid, key_alg=key.algorithm))
        return result
    try:
        ok = key.verifier().verify(canonical(claims), signature)
    except (SigningError, UnicodeEncodeError, ValueError, TypeError):
        ok = False
    if not ok:
        result.reasons.append(reason("bad_signature"))
        return result
    result.signature_ok = True
    reasons = result.reasons
    try:
        signed_at = dt.datetime.fromtimestamp(int(claims["iat"]), dt.UTC)
    except (TypeError, ValueError, OverflowError):
        reasons.append(reason("incomplete", fields="iat"))
        return result
    if key.compromised_at is not None:
        reasons.append(reason("key_compromised", kid=kid, date=key.compromised_at.date()))
    if key.retired_at is not None and key.retired_at < signed_at:
        reasons.append(reason("key_retired", kid=kid, date=key.retired_at.date()))
    if (key.valid_from and signed_at < key.valid_from.replace(microsecond=0)) or (
        key.valid_to and signed_at > key.valid_to
    ):
        reasons.append(reason("key_not_valid", kid=kid))
    vf, vt = _date(claims.get("vf")), _date(claims.get("vt"))
    if vf and today < vf:
        reasons.append(reason("not_yet_valid", date=vf))
    if vt and today > vt:
        reasons.append(reason("expired", date=vt))
    rev = None
    if revocation_lookup is not None:
        rev = revocation_lookup(str(claims["id"]))
        result.checked_registry = True
    if rev is None:
        rev = keys.revocations.get(str(claims["id"]))
    if rev is not None:
        result.revocation = rev
        reasons.append(
            reason(
                "revoked",
                date=rev.revoked_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date(),
                reason=rev.reason,
            )
        )
    if claims.get("k") == KIND_COPY:
        ex = _dt(claims.get("ex"))
        if ex is None or now > ex:
            shown = ex.astimezone(dt.timezone(dt.timedelta(hours=8))) if ex else "?"
            reasons.append(reason("copy_expired", date=str(shown)[:16] if ex else "?"))
    if holder_code and holder_code_hash(str(claims["id"]), holder_code) != claims.get("hch"):
        reasons.append(reason("holder_mismatch"))
    if data is not None and data_hash(data) != claims.get("dh"):
        reasons.append(reason("data_mismatch"))
    result.valid = not reasons
    return result


def verify_payload(
    text: str,
    keys: KeyList,
    *,
    now: dt.datetime | None = None,
    revocation_lookup: Callable[[str], RevocationInfo | None] | None = None,
    holder_code: str = "",
    data: dict[str, Any] | None = None,
) -> Verification:
    """Verify a QR payload (or a verification link) against ``keys``. Never raises on bad
    input: an unreadable payload is an invalid result with the reason ``malformed``."""
    try:
        claims, sig = decode_payload(text)
    except PayloadError as exc:
        return Verification(valid=False, reasons=[Reason(exc.code, exc.message)])
    return verify_claims(
        claims,
        sig,
        keys,
        now=now,
        revocation_lookup=revocation_lookup,
        holder_code=holder_code,
        data=data,
    )


def verify_document(
    obj: dict[str, Any], keys: KeyList, *, now: dt.datetime | None = None, holder_code: str = ""
) -> Verification:
    """Verify an exported certificate file ``{"payload": "YWC1:…", "data": {...}}``."""
    payload = obj.get("payload")
    if not isinstance(payload, str):
        return Verification(
            valid=False,
            reasons=[Reason("malformed", _("The file holds no certificate payload."))],
        )
    data = obj.get("data")
    return verify_payload(
        payload,
        keys,
        now=now,
        holder_code=holder_code,
        data=data if isinstance(data, dict) else None,
    )
