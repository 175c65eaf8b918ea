"""Keep ID numbers, phones, passwords and tokens out of every log.

``install_record_redaction`` wraps the log-record factory so every record, whichever handler
gets it, carries a redacted message; ``RedactingFormatter`` also redacts tracebacks.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Resident ID numbers (18 chars, last may be X) and 15-digit legacy IDs.
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), "[ID]"),
    (re.compile(r"(?<!\d)\d{15}(?!\d)"), "[ID]"),
    # Mainland mobile numbers, optionally +86.
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)"), "[PHONE]"),
    # Bearer tokens and API tokens.
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[TOKEN]"),
    (re.compile(r"\byw_[A-Za-z0-9_-]{8,}"), "[TOKEN]"),
    # key=value secrets in query strings, form bodies, dict reprs.
    (
        re.compile(
            r"(?i)((?:password|passwd|pwd|secret|token|api_key|apikey|otp_token|sessionid|csrftoken)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
        ),
        r"\1[REDACTED]",
    ),
]


def redact(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


_installed = False


def install_record_redaction() -> None:
    """Wrap the global LogRecord factory once (idempotent)."""
    global _installed
    if _installed:
        return
    original = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug; leave it to logging
            return record
        record.msg = redact(message)
        record.args = None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
