"""``Sm4GcmBatch`` is SM4-GCM: byte-for-byte what OpenSSL (through ``cryptography``) makes for
the same key, nonce, data and associated data, and ``sm4_gcm_decrypt`` opens it."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang.core.crypto import DecryptionError, Sm4GcmBatch, sm4_gcm_decrypt


def reference(key: bytes, pt: bytes, nonce: bytes, aad: bytes) -> bytes:
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    return nonce + enc.update(pt) + enc.finalize() + enc.tag


@settings(max_examples=150, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=16),
    pts=st.lists(st.binary(max_size=70), min_size=1, max_size=12),
    aad=st.binary(max_size=40),
    data=st.data(),
)
def test_batch_equals_openssl_sm4_gcm(key, pts, aad, data):
    nonces = data.draw(st.binary(min_size=12 * len(pts), max_size=12 * len(pts)))
    got = Sm4GcmBatch(key).encrypt(pts, nonces, aad)
    for i, pt in enumerate(pts):
        nonce = nonces[12 * i : 12 * i + 12]
        assert got[i] == reference(key, pt, nonce, aad)
        assert sm4_gcm_decrypt(key, got[i], aad) == pt


def test_batch_of_ids_and_phones_and_tamper_detection():
    key = os.urandom(16)
    batch = Sm4GcmBatch(key)
    pts = [b"33010619880203017X", b"13900001111"] * 3000
    nonces = os.urandom(12 * len(pts))
    blobs = batch.encrypt(pts, nonces, b"k1")
    assert len({b[:12] for b in blobs}) == len(blobs)
    assert [sm4_gcm_decrypt(key, b, b"k1") for b in blobs[:50]] == pts[:50]
    assert blobs[7] == reference(key, pts[7], nonces[84:96], b"k1")
    bad = bytearray(blobs[0])
    bad[14] ^= 1
    with pytest.raises(DecryptionError):
        sm4_gcm_decrypt(key, bytes(bad), b"k1")
    with pytest.raises(DecryptionError):
        sm4_gcm_decrypt(key, blobs[0], b"k2")


def test_one_nonce_per_value_is_required():
    with pytest.raises(ValueError):
        Sm4GcmBatch(bytes(16)).encrypt([b"a", b"b"], bytes(12))
