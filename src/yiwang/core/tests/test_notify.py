from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from yiwang.core import notify
from yiwang.core.crypto import hmac_sm3

PHONE = "13812345678"
EMAIL = "zhang.san@example.org"
SECRET = "webhook-test-secret"


class Gateway:
    """A real HTTP server on 127.0.0.1 that answers with the queued status codes."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append((dict(self.headers.items()), body))
                if gateway.delay:
                    time.sleep(gateway.delay)
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.close()


@pytest.fixture
def webhook(settings, gateway):
    settings.YIWANG_EMAIL_BACKEND = "webhook"
    settings.YIWANG_SMS_BACKEND = "webhook"
    settings.YIWANG_NOTIFY_WEBHOOK_URL = gateway.url
    settings.YIWANG_NOTIFY_WEBHOOK_SECRET = SECRET
    settings.YIWANG_NOTIFY_WEBHOOK_RETRIES = "2"
    settings.YIWANG_NOTIFY_WEBHOOK_TIMEOUT = "1"
    settings.YIWANG_NOTIFY_WEBHOOK_BACKOFF = "0.01"
    return gateway


@pytest.fixture
def outbox(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.YIWANG_EMAIL_BACKEND = "file"
    settings.YIWANG_SMS_BACKEND = "file"
    return tmp_path / "outbox"


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_file_backend_is_the_default(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    for name in ("YIWANG_EMAIL_BACKEND", "YIWANG_SMS_BACKEND"):
        if hasattr(settings, name):
            delattr(settings, name)
        monkeypatch.delenv(name, raising=False)
    assert isinstance(notify.backend_for("email"), notify.FileBackend)
    assert isinstance(notify.backend_for("sms"), notify.FileBackend)


def test_environment_chooses_the_backend_when_settings_do_not(settings, monkeypatch):
    if hasattr(settings, "YIWANG_SMS_BACKEND"):
        delattr(settings, "YIWANG_SMS_BACKEND")
    monkeypatch.setenv("YIWANG_SMS_BACKEND", "console")
    assert isinstance(notify.backend_for("sms"), notify.ConsoleBackend)


def test_file_backend_appends_json_lines_with_the_recipient_masked(outbox):
    notify.send_sms(PHONE, "【一网统管】案件 #1：派遣。", key="k1")
    notify.send_sms(PHONE, "第二条", key="k2")
    notify.send_email(EMAIL, "主题", "正文", key="k3")
    sms = _lines(outbox / "sms.jsonl")
    assert [m["key"] for m in sms] == ["k1", "k2"]
    assert sms[0]["to"] == "138****5678"
    assert sms[0]["body"] == "【一网统管】案件 #1：派遣。"
    assert PHONE not in (outbox / "sms.jsonl").read_text(encoding="utf-8")
    (mail,) = _lines(outbox / "email.jsonl")
    assert mail["to"] == "z***@example.org"
    assert mail["subject"] == "主题"


def test_console_backend_logs_a_masked_recipient(settings, caplog):
    settings.YIWANG_SMS_BACKEND = "console"
    settings.YIWANG_EMAIL_BACKEND = "console"
    with caplog.at_level(logging.INFO, logger="yiwang.core.notify"):
        notify.send_sms(PHONE, "您好")
        notify.send_email(EMAIL, "主题", "正文")
    text = caplog.text
    assert "138****5678" in text and "z***@example.org" in text
    assert PHONE not in text and EMAIL not in text


def test_disabled_backend_sends_nothing(settings, outbox):
    settings.YIWANG_SMS_BACKEND = "disabled"
    notify.send_sms(PHONE, "x")
    assert not (outbox / "sms.jsonl").exists()


def test_unknown_backend_is_a_configuration_error(settings):
    settings.YIWANG_SMS_BACKEND = "carrier-pigeon"
    with pytest.raises(ImproperlyConfigured):
        notify.send_sms(PHONE, "x")


def test_empty_recipient_is_refused(outbox):
    with pytest.raises(ValueError):
        notify.send_sms("  ", "x")


def test_webhook_posts_json_signed_with_hmac_sm3(webhook):
    notify.send_sms(PHONE, "【一网统管】测试", key="msg-1-sms")
    ((headers, body),) = webhook.received
    data = json.loads(body)
    assert data == {
        "id": "msg-1-sms",
        "channel": "sms",
        "to": PHONE,
        "subject": "",
        "body": "【一网统管】测试",
    }
    ts = headers["X-Yiwang-Timestamp"]
    expected = hmac_sm3(SECRET.encode(), ts.encode() + b"." + body).hex()
    assert headers["X-Yiwang-Signature"] == f"hmac-sm3={expected}"
    assert headers["Idempotency-Key"] == "msg-1-sms"
    assert abs(int(ts) - time.time()) < 60


def test_webhook_retries_server_errors_then_succeeds(webhook):
    webhook.statuses = [503, 500]
    notify.send_email(EMAIL, "主题", "正文")
    assert len(webhook.received) == 3


def test_webhook_gives_up_after_its_retries(webhook):
    webhook.statuses = [500, 500, 500, 500]
    with pytest.raises(notify.NotifyError) as exc:
        notify.send_sms(PHONE, "x")
    assert not exc.value.permanent
    assert len(webhook.received) == 3
    assert PHONE not in str(exc.value)


def test_webhook_does_not_retry_a_client_error(webhook):
    webhook.statuses = [400]
    with pytest.raises(notify.NotifyError) as exc:
        notify.send_sms(PHONE, "x")
    assert exc.value.permanent
    assert len(webhook.received) == 1


def test_webhook_times_out(settings, webhook):
    settings.YIWANG_NOTIFY_WEBHOOK_RETRIES = "0"
    settings.YIWANG_NOTIFY_WEBHOOK_TIMEOUT = "0.2"
    webhook.delay = 1.0
    with pytest.raises(notify.NotifyError, match="unreachable"):
        notify.send_sms(PHONE, "x")


def test_webhook_unreachable_gateway_is_a_retryable_error(settings, webhook, caplog):
    webhook.close()
    settings.YIWANG_NOTIFY_WEBHOOK_RETRIES = "1"
    with caplog.at_level(logging.WARNING), pytest.raises(notify.NotifyError) as exc:
        notify.send_sms(PHONE, "x")
    assert not exc.value.permanent
    assert PHONE not in caplog.text


def test_webhook_needs_a_secret(settings, webhook):
    settings.YIWANG_NOTIFY_WEBHOOK_SECRET = ""
    with pytest.raises(ImproperlyConfigured):
        notify.send_sms(PHONE, "x")
