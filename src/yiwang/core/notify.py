"""Email and SMS behind one provider interface, with pluggable backends.

    from yiwang.core import notify

    notify.send_email("someone@example.org", "主题", "正文", key="msg-12-email-u3")
    notify.send_sms("13812345678", "【一网统管】……", key="msg-12-sms-u3")

Backends (``YIWANG_EMAIL_BACKEND`` / ``YIWANG_SMS_BACKEND``):

- ``file`` (default): appends one JSON line per message to ``$YIWANG_DATA_DIR/outbox/email.jsonl``
  or ``sms.jsonl`` — a demo outbox. The recipient is written masked.
- ``console``: logs one line with the recipient masked (the log redaction applies as well).
- ``webhook``: POSTs JSON to ``YIWANG_NOTIFY_WEBHOOK_URL`` signed with HMAC-SM3 under
  ``YIWANG_NOTIFY_WEBHOOK_SECRET`` (header ``X-Yiwang-Signature: hmac-sm3=<hex>`` over
  ``<timestamp>.<body>``, timestamp in ``X-Yiwang-Timestamp``), with a timeout and retries.
  ``key`` travels as ``id`` and ``Idempotency-Key`` so a gateway can drop a repeat.
- ``disabled``: sends nothing; or a dotted path to a class with ``send(Outgoing)``.

A failed send raises ``NotifyError``; callers run sends from the queue, which retries them.
Recipients never reach a log line in plain text.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

from yiwang.core.crypto import hmac_sm3
from yiwang.core.masking import mask_email, mask_phone

log = logging.getLogger(__name__)

Channel = Literal["email", "sms"]

DEFAULT_BACKEND = "file"
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
SIGNATURE_HEADER = "X-Yiwang-Signature"
TIMESTAMP_HEADER = "X-Yiwang-Timestamp"


class NotifyError(Exception):
    """A message could not be handed to its gateway. ``permanent`` ones are not worth retrying."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    channel: Channel
    to: str
    body: str
    subject: str = ""
    key: str = ""

    @property
    def masked_to(self) -> str:
        return mask_recipient(self.channel, self.to)


class Backend(Protocol):
    def send(self, message: Outgoing) -> None: ...


def mask_recipient(channel: Channel, to: str) -> str:
    return mask_email(to) if channel == "email" else mask_phone(to)


# --- Backends ---------------------------------------------------------------------------------
class DisabledBackend:
    def send(self, message: Outgoing) -> None:
        return None


class ConsoleBackend:
    """One log line per message; the recipient is masked before it reaches the logger."""

    def send(self, message: Outgoing) -> None:
        log.info(
            "%s to %s%s: %s",
            message.channel,
            message.masked_to,
            f" [{message.subject}]" if message.subject else "",
            message.body,
        )


_file_lock = threading.Lock()


class FileBackend:
    """Appends JSON lines to ``<directory>/<channel>.jsonl`` (the demo outbox)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or outbox_dir()

    def path_for(self, channel: Channel) -> Path:
        return self.directory / f"{channel}.jsonl"

    def send(self, message: Outgoing) -> None:
        line = json.dumps(
            {
                "at": timezone.now().isoformat(),
                "channel": message.channel,
                "to": message.masked_to,
                "subject": message.subject,
                "body": message.body,
                "key": message.key,
            },
            ensure_ascii=False,
        )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with _file_lock, self.path_for(message.channel).open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise NotifyError(f"outbox not writable: {exc.strerror}") from None


class WebhookBackend:
    """POSTs each message as JSON to a gateway, signed with HMAC-SM3, retrying transient
    failures (connection errors, timeouts, 429 and 5xx) with a short backoff."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.5,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ImproperlyConfigured("YIWANG_NOTIFY_WEBHOOK_URL must be an http(s) URL")
        if not secret:
            raise ImproperlyConfigured("YIWANG_NOTIFY_WEBHOOK_SECRET must be set for the webhook")
        self.url = url
        self.secret = secret.encode()
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff

    def sign(self, timestamp: str, body: bytes) -> str:
        return "hmac-sm3=" + hmac_sm3(self.secret, timestamp.encode() + b"." + body).hex()

    def payload(self, message: Outgoing) -> bytes:
        return json.dumps(
            {
                "id": message.key,
                "channel": message.channel,
                "to": message.to,
                "subject": message.subject,
                "body": message.body,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    def send(self, message: Outgoing) -> None:
        body = self.payload(message)
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: self.sign(timestamp, body),
            }
            if message.key:
                headers["Idempotency-Key"] = message.key
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    response.read()
                    return
            except urllib.error.HTTPError as exc:
                last = f"gateway answered {exc.code}"
                if exc.code != 429 and exc.code < 500:
                    raise NotifyError(last, permanent=True) from None
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"gateway unreachable: {type(reason).__name__}"
            log.warning(
                "%s to %s: attempt %d failed (%s)",
                message.channel,
                message.masked_to,
                attempt + 1,
                last,
            )
        raise NotifyError(last)


# --- Configuration ----------------------------------------------------------------------------
def _setting(name: str, default: str) -> str:
    """From Django settings when defined there, else the environment, else ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def outbox_dir() -> Path:
    data_dir = getattr(settings, "DATA_DIR", None) or os.environ.get("YIWANG_DATA_DIR", "var")
    return Path(data_dir) / "outbox"


def backend_for(channel: Channel) -> Backend:
    name = _setting(
        "YIWANG_EMAIL_BACKEND" if channel == "email" else "YIWANG_SMS_BACKEND", DEFAULT_BACKEND
    ).strip()
    if name == "file":
        return FileBackend()
    if name == "console":
        return ConsoleBackend()
    if name in {"disabled", "none"}:
        return DisabledBackend()
    if name == "webhook":
        return WebhookBackend(
            _setting("YIWANG_NOTIFY_WEBHOOK_URL", ""),
            _setting("YIWANG_NOTIFY_WEBHOOK_SECRET", ""),
            timeout=float(_setting("YIWANG_NOTIFY_WEBHOOK_TIMEOUT", str(DEFAULT_TIMEOUT))),
            retries=int(_setting("YIWANG_NOTIFY_WEBHOOK_RETRIES", str(DEFAULT_RETRIES))),
            backoff=float(_setting("YIWANG_NOTIFY_WEBHOOK_BACKOFF", "0.5")),
        )
    if "." in name:
        backend: Backend = import_string(name)()
        return backend
    raise ImproperlyConfigured(
        f"Unknown {channel} backend {name!r}: use file, console, webhook, disabled or a path"
    )


# --- The interface ----------------------------------------------------------------------------
def send(message: Outgoing) -> None:
    if not message.to.strip():
        raise ValueError("no recipient")
    backend_for(message.channel).send(message)


def send_email(to: str, subject: str, body: str, *, key: str = "") -> None:
    send(Outgoing("email", to.strip(), body, subject=subject, key=key))


def send_sms(to: str, body: str, *, key: str = "") -> None:
    send(Outgoing("sms", to.strip(), body, key=key))
