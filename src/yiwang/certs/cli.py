"""``yiwang cert ...``: list, export, verify (online or offline) and issuer keys.

Mounted by the main CLI with :func:`add_subparsers`; also ``python -m yiwang.certs.cli``.

- ``yiwang cert list`` — one certificate a line, identifier first (tab-separated).
- ``yiwang cert export <identifier>`` — prints its QR payload (``--json``: payload and data,
  a file ``cert verify`` also reads).
- ``yiwang cert verify [--keys keys.json] <file or payload>`` — exit 0 valid, 1 invalid with
  the reasons printed. With ``--keys`` it is offline: no database, only the exported key list
  (and the revocations it carries); without, it checks the issuer registry in the database.
- ``yiwang cert keys export [-o FILE]`` — the issuer key list as JSON (public keys only).
- ``yiwang cert keys generate --department CODE [--algorithm SM2]`` — rotate a signing key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def _setup() -> None:
    from django.conf import settings

    if not settings.configured:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.config.settings")
    import django

    django.setup()


def _read_input(arg: str) -> tuple[str, dict[str, Any] | None]:
    """``(payload text, document)`` from a payload, a link, a file, or ``-`` (stdin)."""
    if arg == "-":
        text = sys.stdin.read()
    elif not arg.startswith(("YWC1:", "http://", "https://")) and Path(arg).is_file():
        text = Path(arg).read_text(encoding="utf-8")
    else:
        text = arg
    text = text.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return text, None
        if isinstance(doc, dict):
            return "", doc
    return text, None


def _print_result(result: Any) -> int:
    from yiwang.certs.signing import Verification

    assert isinstance(result, Verification)
    c = result.claims
    if result.valid:
        kind = "copy" if c.get("k") == "copy" else "certificate"
        print(f"VALID {kind} {c.get('cid') or c.get('id')}")
    else:
        print("INVALID")
    if result.signature_ok:
        print(f"  type:     {c.get('tc')} {c.get('tn')}")
        print(f"  number:   {c.get('no')}")
        print(f"  holder:   {c.get('hn')} {c.get('hcm')}")
        print(f"  issuer:   {c.get('ian')} ({c.get('iac')})")
        print(f"  valid:    {c.get('vf')} – {c.get('vt') or 'long-term'}")
        if c.get("k") == "copy":
            print(f"  copy for: {c.get('rn')} ({c.get('rc')}), purpose: {c.get('pu')}")
            print(f"  copy expires: {c.get('ex')}")
        print(f"  key:      {c.get('kid')} ({c.get('alg')})")
    for r in result.reasons:
        print(f"  reason [{r.code}]: {r.text()}")
    return 0 if result.valid else 1


def cmd_verify(args: argparse.Namespace) -> int:
    from yiwang.certs import signing

    text, doc = _read_input(args.input)
    if args.keys:
        try:
            keys = signing.KeyList.from_json(json.loads(Path(args.keys).read_text("utf-8")))
        except (OSError, ValueError, KeyError, signing.SigningError) as exc:
            print(f"cannot read the key list {args.keys}: {exc}", file=sys.stderr)
            return 2
        if doc is not None:
            result = signing.verify_document(doc, keys, holder_code=args.holder_code)
        else:
            result = signing.verify_payload(text, keys, holder_code=args.holder_code)
        return _print_result(result)
    _setup()
    from yiwang.certs import actions

    if doc is not None:
        from yiwang.certs import keys as certkeys

        data = doc.get("data")
        result = signing.verify_payload(
            str(doc.get("payload", "")),
            certkeys.key_list(with_revocations=False),
            revocation_lookup=certkeys.registry_revocation,
            holder_code=args.holder_code,
            data=data if isinstance(data, dict) else None,
        )
    else:
        result = actions.verify(text, holder_code=args.holder_code)
    return _print_result(result)


def cmd_list(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.certs.models import Certificate
    from yiwang.core.masking import mask_name

    qs = Certificate.objects.select_related("type", "issuing_department").order_by("id")
    if args.department:
        qs = qs.filter(issuing_department__code=args.department)
    if args.type:
        qs = qs.filter(type__code=args.type)
    for c in qs[: args.limit] if args.limit else qs:
        fields = [
            c.identifier,
            c.number,
            c.type.code,
            c.type.name,
            mask_name(c.holder_name),
            c.issuer_code,
            c.issue_date.isoformat(),
            c.valid_to.isoformat() if c.valid_to else "-",
            c.effective_status(),
        ]
        print("\t".join(fields))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.certs.models import Certificate, CertificateCopy
    from yiwang.core import audit

    obj: Any = Certificate.objects.filter(identifier=args.identifier).first()
    if obj is None:
        obj = CertificateCopy.objects.filter(identifier=args.identifier).first()
    if obj is None:
        print(f"no certificate or copy {args.identifier!r}", file=sys.stderr)
        return 1
    audit.record("certs.exported", obj=obj, purpose="yiwang cert export")
    if args.json:
        cert = obj if isinstance(obj, Certificate) else obj.certificate
        doc = {"payload": obj.payload(), "data": cert.data}
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        print(obj.payload())
    return 0


def cmd_keys_export(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.certs import keys

    text = json.dumps(keys.key_list().to_json(), ensure_ascii=False, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.accounts.models import Department
    from yiwang.certs import actions
    from yiwang.core.errors import DomainError

    dept = Department.objects.filter(code=args.department).first()
    if dept is None:
        print(f"no department {args.department!r}", file=sys.stderr)
        return 1
    try:
        key = actions.do_generate_issuer_key(actor=None, department=dept, algorithm=args.algorithm)
    except DomainError as exc:
        print(f"{exc.message}: {exc.fields}", file=sys.stderr)
        return 1
    print(f"{key.kid}\t{key.algorithm}\t{key.public_key}")
    return 0


def cmd_keys_compromised(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.certs import actions
    from yiwang.core.errors import NotFound

    try:
        key = actions.do_mark_key_compromised(actor=None, kid=args.kid)
    except NotFound:
        print(f"no key {args.kid!r}", file=sys.stderr)
        return 1
    print(f"{key.kid} marked compromised at {key.compromised_at:%Y-%m-%dT%H:%M:%SZ}")
    return 0


def add_subparsers(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "cert", help="electronic certificates (电子证照): list, export, verify, issuer keys"
    )
    sub = p.add_subparsers(dest="cert_command", required=True)
    ls = sub.add_parser("list", help="one certificate a line, identifier first")
    ls.add_argument("--department", default="", help="issuing department code")
    ls.add_argument("--type", default="", help="certificate type code")
    ls.add_argument("--limit", type=int, default=0)
    ls.set_defaults(func=cmd_list)
    ex = sub.add_parser("export", help="print a certificate's (or copy's) QR payload")
    ex.add_argument("identifier")
    ex.add_argument("--json", action="store_true", help="payload and data as a JSON document")
    ex.set_defaults(func=cmd_export)
    v = sub.add_parser(
        "verify", help="verify a payload, link or file; exit 0 valid, 1 invalid (reasons shown)"
    )
    v.add_argument("input", help="a YWC1: payload, a verification link, a file, or - (stdin)")
    v.add_argument("--keys", default="", help="offline: an exported issuer key list (JSON)")
    v.add_argument("--holder-code", default="", help="check the holder's ID number/credit code")
    v.set_defaults(func=cmd_verify)
    k = sub.add_parser("keys", help="issuer signing keys")
    ksub = k.add_subparsers(dest="cert_keys_command", required=True)
    ke = ksub.add_parser("export", help="the issuer key list (public keys, revocations) as JSON")
    ke.add_argument("-o", "--output", default="", help="write to this file")
    ke.set_defaults(func=cmd_keys_export)
    kg = ksub.add_parser("generate", help="a new signing key for a department (rotation)")
    kg.add_argument("--department", required=True, help="department code")
    kg.add_argument("--algorithm", default="", choices=["", "Ed25519", "SM2"])
    kg.set_defaults(func=cmd_keys_generate)
    kc = ksub.add_parser("compromised", help="mark a key compromised: what it signed is invalid")
    kc.add_argument("kid")
    kc.set_defaults(func=cmd_keys_compromised)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="yiwang")
    add_subparsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
