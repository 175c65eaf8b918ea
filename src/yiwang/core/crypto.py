"""SM3, HMAC-SM3 and SM4-GCM (GB/T 32905, GB/T 32907) through ``cryptography``/OpenSSL.

Ciphertext format (text, so it fits a TEXT column):  ``<key id>$<base64url(nonce||ct||tag)>``.
The nonce is 12 random bytes; the tag 16 bytes; the key id is bound as associated data so a
ciphertext cannot be relabelled with another key id.

``Sm4GcmBatch`` seals many values at once for bulk imports: the same SM4-GCM (NIST SP 800-38D)
with the block cipher from OpenSSL (one SM4-ECB context per key, run once over all counter
blocks of a batch) and GHASH computed with numpy over the whole batch. Its output is
byte-for-byte what OpenSSL's SM4-GCM gives for the same key, nonce, data and associated data
(``tests/test_crypto_batch.py`` checks it against ``cryptography`` on random inputs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

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


# --- SM4-GCM for many values at once ---------------------------------------------------------
#: GCM's reduction constant R = 11100001 || 0^120, as the high bits of a 128-bit integer.
_GCM_R = 0xE1 << 120


def _ghash_tables(h: int) -> Any:
    """Multiplication by H in GF(2^128), GCM's bit order, as 16 byte-indexed tables: for byte
    position k and byte value b, ``T[k, b]`` is ``(b << 8·(15-k)) · H`` as two big-endian
    64-bit halves. ``X · H`` is then the XOR over k of ``T[k, X_k]`` (multiplication by H is
    linear over GF(2))."""
    import numpy as np

    # V[i] = x^i · H: the product of H and the block whose only set bit is bit i (MSB first).
    v = [0] * 128
    cur = h
    for i in range(128):
        v[i] = cur
        cur = (cur >> 1) ^ _GCM_R if cur & 1 else cur >> 1
    table = np.zeros((16, 256, 2), dtype=np.uint64)
    for k in range(16):
        bit_products = [v[8 * k + (7 - j)] for j in range(8)]  # bit j of the byte (LSB = 0)
        row = [0] * 256
        for b in range(1, 256):
            low = b & -b
            row[b] = row[b ^ low] ^ bit_products[low.bit_length() - 1]
        table[k, :, 0] = [r >> 64 for r in row]
        table[k, :, 1] = [r & 0xFFFFFFFFFFFFFFFF for r in row]
    return table


class Sm4GcmBatch:
    """SM4-GCM encryption of many short values at once under one key (see the module doc).

    ``encrypt(plaintexts, nonces, aad)`` returns ``nonce ‖ ciphertext ‖ tag`` per value, the
    blob ``sm4_gcm_encrypt`` makes; ``sm4_gcm_decrypt`` opens it. Nonces are 12 bytes.
    """

    def __init__(self, key: bytes) -> None:
        import numpy as np

        self._np = np
        # ECB here only computes the block cipher on GCM's counter blocks (and H = E_K(0)).
        self._ecb = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305
        h = int.from_bytes(self._ecb.update(bytes(16)), "big")
        table = _ghash_tables(h)
        self._hi = [np.ascontiguousarray(table[k, :, 0]) for k in range(16)]
        self._lo = [np.ascontiguousarray(table[k, :, 1]) for k in range(16)]
        self._aad_state: dict[bytes, Any] = {}

    def _mul_h(self, x: Any) -> Any:
        """Rows of 16 bytes (uint8) times H: rows of two big-endian uint64 halves."""
        np = self._np
        cols = np.ascontiguousarray(x.T)
        hi, lo = self._hi, self._lo
        acc_hi = hi[0].take(cols[0])
        acc_lo = lo[0].take(cols[0])
        for k in range(1, 16):
            c = cols[k]
            acc_hi ^= hi[k].take(c)
            acc_lo ^= lo[k].take(c)
        return np.stack([acc_hi, acc_lo], axis=1)

    def _to_bytes(self, y: Any) -> Any:
        return y.astype(">u8").view(self._np.uint8).reshape(-1, 16)

    def _aad(self, aad: bytes) -> Any:
        """The GHASH state after the associated data (the same for every value)."""
        np = self._np
        state = self._aad_state.get(aad)
        if state is None:
            y = np.zeros((1, 2), dtype=np.uint64)
            padded = aad + bytes(-len(aad) % 16)
            for i in range(0, len(padded), 16):
                block = np.frombuffer(padded[i : i + 16], dtype=np.uint8)[None, :]
                y = self._mul_h(self._to_bytes(y) ^ block)
            state = self._aad_state[aad] = y
        return state

    def encrypt(self, plaintexts: Sequence[bytes], nonces: bytes, aad: bytes = b"") -> list[bytes]:
        """``nonces``: 12 bytes per value, concatenated."""
        np = self._np
        n = len(plaintexts)
        if len(nonces) != NONCE_BYTES * n:
            raise ValueError("one 12-byte nonce per value")
        out: list[bytes] = [b""] * n
        by_len: dict[int, list[int]] = {}
        for i, p in enumerate(plaintexts):
            by_len.setdefault(len(p), []).append(i)
        all_nonces = np.frombuffer(nonces, dtype=np.uint8).reshape(n, NONCE_BYTES)
        y_aad = self._aad(aad)
        for length, idx in by_len.items():
            m = -(-length // 16)  # blocks of ciphertext
            g = len(idx)
            # Counter blocks J0 (for the tag) and inc32(J0)… (for the data): nonce ‖ 1, 2, …
            ctr = np.zeros((g, m + 1, 16), dtype=np.uint8)
            ctr[:, :, :NONCE_BYTES] = all_nonces[idx][:, None, :]
            ctr[:, :, NONCE_BYTES:] = (
                np.arange(1, m + 2, dtype=">u4").view(np.uint8).reshape(m + 1, 4)[None, :, :]
            )
            ks = np.frombuffer(self._ecb.update(ctr.tobytes()), dtype=np.uint8)
            ks = ks.reshape(g, m + 1, 16)
            # Ciphertext = data XOR keystream; GHASH reads its last block zero-padded.
            ct = np.zeros((g, 16 * m), dtype=np.uint8)
            if length:
                pt = np.frombuffer(b"".join(plaintexts[i] for i in idx), dtype=np.uint8)
                ct[:, :length] = pt.reshape(g, length) ^ ks[:, 1:, :].reshape(g, 16 * m)[:, :length]
            y = np.repeat(y_aad, g, axis=0)
            for j in range(m):
                y = self._mul_h(self._to_bytes(y) ^ ct[:, 16 * j : 16 * j + 16])
            lens = np.array([len(aad) * 8, length * 8], dtype=">u8").view(np.uint8)
            y = self._mul_h(self._to_bytes(y) ^ lens[None, :])
            tag = self._to_bytes(y) ^ ks[:, 0, :]
            blob = np.concatenate([all_nonces[idx], ct[:, :length], tag], axis=1).tobytes()
            w = NONCE_BYTES + length + TAG_BYTES
            for j, i in enumerate(idx):
                out[i] = blob[j * w : (j + 1) * w]
        return out


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
