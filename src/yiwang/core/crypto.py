"""SM3, HMAC-SM3 and SM4-GCM (GB/T 32905, GB/T 32907) through ``cryptography``/OpenSSL.

Ciphertext format (text, so it fits a TEXT column):  ``<key id>$<base64url(nonce||ct||tag)>``.
The nonce is 12 random bytes; the tag 16 bytes; the key id is bound as associated data so a
ciphertext cannot be relabelled with another key id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from yiwang.core.keys import KeyProvider

NONCE_BYTES = 12
TAG_BYTES = 16


class DecryptionError(Exception):
    """A ciphertext is malformed, was altered, or names an unknown key."""


def _hashlib_has_sm3() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


HASHLIB_SM3 = _hashlib_has_sm3()


def sm3(data: bytes) -> bytes:
    """SM3 digest (32 bytes)."""
    if HASHLIB_SM3:
        return hashlib.new("sm3", data).digest()
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    if HASHLIB_SM3:
        return hmac.new(key, data, "sm3").digest()
    from cryptography.hazmat.primitives import hmac as chmac

    h = chmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


def sm4_gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    ct = enc.update(plaintext) + enc.finalize()
    return nonce + ct + enc.tag


def sm4_gcm_decrypt(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("ciphertext too short")
    nonce, ct, tag = blob[:NONCE_BYTES], blob[NONCE_BYTES:-TAG_BYTES], blob[-TAG_BYTES:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if aad:
        dec.authenticate_additional_data(aad)
    try:
        return dec.update(ct) + dec.finalize()
    except InvalidTag:
        raise DecryptionError("ciphertext failed authentication (altered or wrong key)") from None


class Sealer:
    """Encrypts and decrypts personal data with the provider's keys."""

    def __init__(self, provider: KeyProvider) -> None:
        self.provider = provider

    def seal(self, plaintext: str) -> str:
        key_id = self.provider.current_key_id()
        blob = sm4_gcm_encrypt(self.provider.data_key(key_id), plaintext.encode(), key_id.encode())
        return key_id + "$" + base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def open(self, token: str) -> str:
        key_id, sep, b64 = token.partition("$")
        if not sep:
            raise DecryptionError("ciphertext has no key id")
        try:
            blob = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except (ValueError, TypeError):
            raise DecryptionError("ciphertext is not base64") from None
        try:
            key = self.provider.data_key(key_id)
        except Exception as exc:
            raise DecryptionError(str(exc)) from None
        return sm4_gcm_decrypt(key, blob, key_id.encode()).decode()

    @staticmethod
    def key_id_of(token: str) -> str:
        return token.partition("$")[0]

    def blind_index(self, purpose: str, normalized: str) -> str:
        """HMAC-SM3 of a normalised value under the purpose's own key (hex, 64 chars)."""
        return hmac_sm3(self.provider.index_key(purpose), normalized.encode()).hex()


@lru_cache(maxsize=1)
def default_sealer() -> Sealer:
    """The sealer configured in settings (cached; ``reset_default_sealer`` after changing keys)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    provider_cls = import_string(settings.YIWANG_KEY_PROVIDER)
    provider = provider_cls(
        data_keys=settings.YIWANG_DATA_KEYS,
        index_key=settings.YIWANG_INDEX_KEY,
        current=settings.YIWANG_DATA_KEY_CURRENT,
    )
    return Sealer(provider)


def reset_default_sealer() -> None:
    default_sealer.cache_clear()
