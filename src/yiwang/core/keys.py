"""Key material for personal data, behind a provider interface.

A provider hands out SM4 data keys by id (so ciphertexts name the key that sealed them and
rotation keeps old data readable) and derives one blind-index key per field. The default
provider reads the environment; an HSM or KMS provider implements the same two methods.
This module imports nothing from Django so settings can use its constants.
"""

from __future__ import annotations

import base64
import hmac
import os
from typing import Protocol

# Development-only keys. Production settings refuse to start with these.
DEV_DATA_KEYS = "dev1:" + base64.b64encode(b"yiwang-dev-sm4!!").decode()
DEV_INDEX_KEY = base64.b64encode(b"yiwang-development-blind-index-key").decode()


class KeyError_(Exception):
    """A key is missing or malformed."""


class KeyProvider(Protocol):
    def current_key_id(self) -> str: ...

    def data_key(self, key_id: str) -> bytes: ...

    def index_key(self, purpose: str) -> bytes: ...


def parse_keyring(spec: str) -> dict[str, bytes]:
    """Parse ``"id:base64,id:base64"`` into an ordered ``{id: key}``; SM4 keys are 16 bytes."""
    ring: dict[str, bytes] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key_id, sep, b64 = part.partition(":")
        if not sep or not key_id.isalnum() or len(key_id) > 16:
            raise KeyError_(f"bad key entry {key_id!r}: expected id:base64 with an alphanumeric id")
        key = base64.b64decode(b64)
        if len(key) != 16:
            raise KeyError_(f"key {key_id!r} must be 16 bytes for SM4, got {len(key)}")
        ring[key_id] = key
    if not ring:
        raise KeyError_("no data keys configured")
    return ring


class EnvironmentKeyProvider:
    """Keys from settings: YIWANG_DATA_KEYS, YIWANG_DATA_KEY_CURRENT, YIWANG_INDEX_KEY."""

    def __init__(self, data_keys: str, index_key: str, current: str = "") -> None:
        self._ring = parse_keyring(data_keys)
        self._current = current or next(iter(self._ring))
        if self._current not in self._ring:
            raise KeyError_(f"current key {self._current!r} is not in the key ring")
        self._index_master = base64.b64decode(index_key)
        if len(self._index_master) < 16:
            raise KeyError_("the blind-index key must be at least 16 bytes")
        self._index_cache: dict[str, bytes] = {}

    def current_key_id(self) -> str:
        return self._current

    def data_key(self, key_id: str) -> bytes:
        try:
            return self._ring[key_id]
        except KeyError:
            raise KeyError_(f"unknown data key id {key_id!r}") from None

    def index_key(self, purpose: str) -> bytes:
        key = self._index_cache.get(purpose)
        if key is None:
            key = hmac.new(self._index_master, b"blind-index:" + purpose.encode(), "sm3").digest()
            self._index_cache[purpose] = key
        return key


def generate_keys() -> dict[str, str]:
    """Fresh values for the environment variables a production deployment needs."""
    return {
        "YIWANG_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(48)).decode(),
        "YIWANG_DATA_KEYS": "k1:" + base64.b64encode(os.urandom(16)).decode(),
        "YIWANG_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
