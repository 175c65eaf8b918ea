"""certs-sign: electronic certificates — signatures and verifications per second beside raw
Ed25519 on the same bytes, in the same run.

Timed, each as the best of ``--repeat`` rounds of ``--size`` operations:

- ``raw_sign`` / ``raw_verify``: ``cryptography``'s Ed25519 on the canonical claims bytes;
- ``sign``: the certificate path without a database — canonical JSON of the claims + Ed25519
  (``signing.sign_claims``); ``sign_and_encode`` adds the QR payload (zlib + base45);
- ``verify``: ``signing.verify_payload`` on the QR text — base45 + zlib + JSON decode,
  canonical form, Ed25519 verify, key and validity checks (the offline path of
  ``yiwang cert verify --keys``);
- ``issue_db``: ``do_issue_certificate`` end to end (validation, identifier, number, signing,
  SM4-sealed holder code and blind index, the row, the audit record) — ``--size``/10 of them;
- ``verify_online``: ``actions.verify`` (the API and public page path: key list and revocation
  status from the database) on those certificates;
- SM2 (``gmssl``, pure Python) sign and verify when it is installed, for information.

The goal (issue 7): the certificate sign and verify within 2x of raw Ed25519.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from bench.env import log
from bench.registry import Result, register


def _best(fn: Callable[[int], object], n: int, repeat: int) -> float:
    """Operations per second, best of ``repeat`` rounds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(n)
        best = min(best, time.perf_counter() - t0)
    return n / best if best > 0 else float("inf")


def _claims(i: int = 0) -> dict[str, Any]:
    from yiwang.certs import signing

    ident = f"1.2.156.3005.2.11100000YYZZ.330106SCJ.20261201{i:08d}.A"
    return {
        "v": 1,
        "k": "cert",
        "id": ident,
        "tc": "11100000YYZZ",
        "tn": "营业执照",
        "no": f"3301062026YYZZ{i:06d}",
        "hn": "杭州演示科技有限公司",
        "hct": "uscc",
        "hcm": "91330106MA2XXXXX1K",
        "hch": signing.holder_code_hash(ident, "91330106MA2XXXXX1K"),
        "ian": "演示区市场监督管理局",
        "iac": "330106-scj",
        "ia": "2026-12-01",
        "vf": "2026-12-01",
        "vt": None,
        "ac": "330106",
        "dh": signing.data_hash({"legal_representative": "张三", "address": "演示路1号"}),
        "iat": 1_796_000_000,
    }


def _pure(n: int, repeat: int) -> dict[str, Any]:
    from yiwang.certs import signing

    signer = signing.Ed25519Signer("bench", signing.generate_private_key(signing.ED25519))
    keys = signing.KeyList()
    keys.add(signing.KeyInfo("bench", signing.ED25519, signer.public_key()))
    claims = _claims()
    signed, sig = signing.sign_claims(claims, signer)
    message = signing.canonical(signed)
    payload = signing.encode_payload(signed, sig)
    raw_key = signer._key
    raw_pub = raw_key.public_key()
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    assert signing.verify_payload(payload, keys, now=now).valid

    def raw_sign(k: int) -> None:
        for _ in range(k):
            raw_key.sign(message)

    def raw_verify(k: int) -> None:
        for _ in range(k):
            raw_pub.verify(sig, message)

    def cert_sign(k: int) -> None:
        for _ in range(k):
            signing.sign_claims(claims, signer)

    def cert_sign_encode(k: int) -> None:
        for _ in range(k):
            signing.sign_and_encode(claims, signer)

    def cert_verify(k: int) -> None:
        for _ in range(k):
            signing.verify_payload(payload, keys, now=now)

    out: dict[str, float] = {}
    # alternate raw and certificate rounds so a noisy neighbour hits both alike
    for name, fn in (
        ("raw_sign_per_s", raw_sign),
        ("sign_per_s", cert_sign),
        ("sign_and_encode_per_s", cert_sign_encode),
        ("raw_verify_per_s", raw_verify),
        ("verify_per_s", cert_verify),
    ):
        out[name] = round(_best(fn, n, repeat), 1)
    return {
        **out,
        "sign_ratio_raw_over_cert": round(out["raw_sign_per_s"] / out["sign_per_s"], 3),
        "sign_and_encode_ratio": round(out["raw_sign_per_s"] / out["sign_and_encode_per_s"], 3),
        "verify_ratio_raw_over_cert": round(out["raw_verify_per_s"] / out["verify_per_s"], 3),
        "payload_chars": len(payload),
        "canonical_bytes": len(message),
    }


def _sm2(n: int) -> dict[str, Any]:
    from yiwang.certs import signing

    try:
        signer = signing.Sm2Signer("bench-sm2", signing.generate_private_key(signing.SM2))
    except signing.SigningError as exc:
        return {"skipped": str(exc)}
    claims = _claims()
    signed, sig = signing.sign_claims(claims, signer)
    message = signing.canonical(signed)
    n = max(10, n // 50)
    return {
        "operations": n,
        "sign_per_s": round(_best(lambda k: [signer.sign(message) for _ in range(k)], n, 1), 1),
        "verify_per_s": round(
            _best(lambda k: [signer.verify(message, sig) for _ in range(k)], n, 1), 1
        ),
    }


def _ensure_app() -> str:
    """Install and migrate yiwang.certs for this run when the project does not list it yet."""
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    if apps.is_installed("yiwang.certs"):
        return "installed"
    override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "yiwang.certs"]).enable()
    call_command("migrate", "certs", verbosity=0, interactive=False)
    return "added for this run"


def _database(n: int, repeat: int) -> dict[str, Any]:
    how = _ensure_app()
    from django.utils import timezone

    from yiwang.accounts.models import Department, Division
    from yiwang.certs import actions
    from yiwang.certs.demo import seed_types
    from yiwang.core.ids import make_credit_code

    seed_types()
    div, _ = Division.objects.get_or_create(
        code="330106",
        release="2022",
        defaults={"prefix": "330106", "name": "西湖区", "level": "county"},
    )
    dept, _ = Department.objects.get_or_create(
        code="330106-scj", defaults={"name": "市场监督管理局（基准）", "division": div}
    )
    data = {
        "enterprise_type": "有限责任公司",
        "legal_representative": "张三",
        "founded": "2020-01-01",
        "address": "演示路1号",
    }
    codes = [make_credit_code("330106", f"{i:08d}{i % 10}") for i in range(n)]
    actions.do_issue_certificate(  # the key is generated outside the timing
        actor=None,
        type_code="business_licence",
        holder_name="预热企业",
        holder_code=codes[0],
        holder_code_type="uscc",
        issuing_department=dept,
        data=data,
        valid_from=timezone.localdate(),
        valid_to=None,
        area_code="330106",
    )
    certs = []
    t0 = time.perf_counter()
    for i in range(n):
        certs.append(
            actions.do_issue_certificate(
                actor=None,
                type_code="business_licence",
                holder_name=f"基准企业{i}",
                holder_code=codes[i],
                holder_code_type="uscc",
                issuing_department=dept,
                data=data,
                valid_from=timezone.localdate(),
                valid_to=None,
                area_code="330106",
                source_ref=f"bench:{i}",
            )
        )
    issue_s = time.perf_counter() - t0
    payloads = [c.payload() for c in certs]

    def online(k: int) -> None:
        for i in range(k):
            assert actions.verify(payloads[i % len(payloads)]).valid

    return {
        "app": how,
        "certificates": n,
        "issue_per_s": round(n / issue_s, 1),
        "issue_ms_each": round(issue_s / n * 1000, 3),
        "verify_online_per_s": round(_best(online, n, repeat), 1),
    }


@register(
    "certs-sign",
    "certificate sign/verify per second beside raw Ed25519; DB issuance and online verify",
    5_000,
)
def run(args: Any) -> Result:
    n = int(args.size)
    repeat = int(args.repeat)
    log(f"pure sign/verify: {n} operations x {repeat} rounds each")
    pure = _pure(n, repeat)
    log(f"database issuance: {max(1, n // 10)} certificates")
    db = _database(max(1, n // 10), repeat)
    log("SM2 (gmssl) for information")
    sm2 = _sm2(n)
    return {
        "ed25519": pure,
        "database": db,
        "sm2_gmssl": sm2,
        "goal": "certificate sign and verify within 2x of raw Ed25519",
        "goal_met": pure["sign_ratio_raw_over_cert"] <= 2
        and pure["verify_ratio_raw_over_cert"] <= 2,
    }
