"""``yiwang cert ...`` through the CLI's own parser (``add_subparsers``)."""

from __future__ import annotations

import json

import pytest

from yiwang.certs import actions, signing
from yiwang.certs.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_one_certificate_a_line_id_first(cw, capsys):
    code, out, _ = _run(capsys, "cert", "list")
    lines = out.strip().splitlines()
    assert code == 0
    ids = {cw.extra[k].identifier for k in ("cert_a", "cert_b", "licence_a")}
    assert {line.split("\t")[0] for line in lines} == ids
    assert cw.users["resident_a"].display_name not in out  # names masked


def test_export_prints_the_qr_payload(cw, capsys):
    cert = cw.extra["cert_a"]
    code, out, _ = _run(capsys, "cert", "export", cert.identifier)
    assert code == 0 and out.strip() == cert.payload()


def test_export_unknown_is_exit_1(cw, capsys):
    code, _, err = _run(capsys, "cert", "export", "nope")
    assert code == 1 and "nope" in err


def test_verify_online_valid(cw, capsys):
    code, out, _ = _run(capsys, "cert", "verify", cw.extra["cert_a"].payload())
    assert code == 0 and out.startswith("VALID certificate")


def test_verify_offline_with_exported_keys(cw, capsys, tmp_path):
    keys = tmp_path / "keys.json"
    assert _run(capsys, "cert", "keys", "export", "-o", str(keys))[0] == 0
    code, out, _ = _run(capsys, "cert", "verify", "--keys", str(keys), cw.extra["cert_a"].payload())
    assert code == 0, out


def test_verify_offline_tampered_exit_1_with_reason(cw, capsys, tmp_path):
    keys = tmp_path / "keys.json"
    _run(capsys, "cert", "keys", "export", "-o", str(keys))
    claims, sig = signing.decode_payload(cw.extra["cert_a"].payload())
    forged = signing.encode_payload({**claims, "no": "FAKE"}, sig)
    code, out, _ = _run(capsys, "cert", "verify", "--keys", str(keys), forged)
    assert code == 1
    assert "INVALID" in out and "bad_signature" in out


def test_verify_offline_sees_revocations_in_the_key_list(cw, capsys, tmp_path):
    cert = cw.extra["cert_a"]
    actions.do_revoke_certificate(actor=None, identifier=cert.identifier, reason="已注销")
    keys = tmp_path / "keys.json"
    _run(capsys, "cert", "keys", "export", "-o", str(keys))
    code, out, _ = _run(capsys, "cert", "verify", "--keys", str(keys), cert.payload())
    assert code == 1 and "revoked" in out and "已注销" in out


def test_verify_a_file_document(cw, capsys, tmp_path):
    cert = cw.extra["cert_a"]
    _, out, _ = _run(capsys, "cert", "export", "--json", cert.identifier)
    doc = json.loads(out)
    doc["data"]["card_number"] = "TAMPERED"
    f = tmp_path / "cert.json"
    f.write_text(json.dumps(doc, ensure_ascii=False))
    keys = tmp_path / "keys.json"
    _run(capsys, "cert", "keys", "export", "-o", str(keys))
    code, out, _ = _run(capsys, "cert", "verify", "--keys", str(keys), str(f))
    assert code == 1 and "data_mismatch" in out


def test_verify_a_payload_file(cw, capsys, tmp_path):
    f = tmp_path / "payload.txt"
    f.write_text(cw.extra["copy_a"].payload() + "\n")
    code, out, _ = _run(capsys, "cert", "verify", str(f))
    assert code == 0 and out.startswith("VALID copy")


def test_verify_with_unreadable_key_file_is_exit_2(cw, capsys, tmp_path):
    f = tmp_path / "keys.json"
    f.write_text("{}")
    assert _run(capsys, "cert", "verify", "--keys", str(f), "YWC1:AB")[0] == 2


def test_keys_generate_rotates(cw, capsys):
    dept = cw.departments["bureau_a"]
    code, out, _ = _run(capsys, "cert", "keys", "generate", "--department", dept.code)
    assert code == 0 and out.startswith(dept.code)
    assert actions.verify(cw.extra["cert_a"].payload()).valid


def test_keys_compromised(cw, capsys):
    kid = cw.extra["cert_a"].key.kid
    assert _run(capsys, "cert", "keys", "compromised", kid)[0] == 0
    code, out, _ = _run(capsys, "cert", "verify", cw.extra["cert_a"].payload())
    assert code == 1 and "key_compromised" in out


def test_export_is_audited(cw, capsys):
    from yiwang.core.models import AuditRecord

    _run(capsys, "cert", "export", cw.extra["cert_a"].identifier)
    assert AuditRecord.objects.filter(event="certs.exported").count() == 1


def test_mounts_in_the_main_parser():
    import argparse

    from yiwang.certs.cli import add_subparsers

    p = argparse.ArgumentParser()
    add_subparsers(p.add_subparsers(dest="command"))
    args = p.parse_args(["cert", "verify", "--keys", "k.json", "YWC1:X"])
    assert args.keys == "k.json" and args.input == "YWC1:X"


@pytest.mark.parametrize("argv", [["cert"], ["cert", "keys"]])
def test_subcommand_required(argv):
    with pytest.raises(SystemExit):
        main(argv)
