"""Blind indexes for row keys and data subjects, and the SM3 hashes of messages."""

from __future__ import annotations

import json
from typing import Any

from yiwang.core.crypto import default_sealer, sm3_hex

SUBJECT_PURPOSE = "exchange.subject"
KEY_PURPOSE = "exchange.key"


def normalize_subject(value: Any) -> str:
    return str(value or "").strip().upper().replace(" ", "")


def subject_hash(value: Any) -> str:
    """The blind index of an ID number or credit code (empty for an empty value)."""
    norm = normalize_subject(value)
    return default_sealer().blind_index(SUBJECT_PURPOSE, norm) if norm else ""


def key_hash(dataset_code: str, values: list[Any]) -> str:
    joined = "\x1f".join([dataset_code, *(normalize_subject(v) for v in values)])
    return default_sealer().blind_index(KEY_PURPOSE, joined)


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def message_hash(value: Any) -> str:
    return sm3_hex(canonical_json(value))
