"""The signing module on its own (no database): signers, payload, verification reasons."""

from __future__ import annotations

import datetime as dt
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang.certs import signing

IDENT = "1.2.156.3005.2.SBK.X.2026050100000001.A"
NOW = dt.datetime(2026, 6, 1, 4, 0, tzinfo=dt.UTC)
SIGNED = int(dt.datetime(2026, 5, 1, tzinfo=dt.UTC).timestamp())


def _claims(**kw):
    base = {
        "v": 1,
        "k": "cert",
        "id": IDENT,
        "tc": "11100000SBK",
        "tn": "社会保障卡",
        "no": "3301062026SBK000001",
        "hn": "张三丰",
        "hct": "ric",
        "hcm": "330***********0006",
        "hch": signing.holder_code_hash(
            "1.2.156.3005.2.SBK.X.2026050100000001.A", "330106199003070006"
        ),
        "ian": "人社局",
        "iac": "330106-rsj",
        "ia": "2026-05-01",
        "vf": "2026-05-01",
        "vt": "2030-04-30",
        "ac": "330106",
        "dh": signing.data_hash({"card_number": "A1"}),
        "iat": SIGNED,
    }
    base.update(kw)
    return base


@pytest.fixture(scope="module")
def ed():
    signer = signing.Ed25519Signer("k-ed", signing.generate_private_key(signing.ED25519))
    keys = signing.KeyList()
    keys.add(signing.KeyInfo("k-ed", signing.ED25519, signer.public_key()))
    return signer, keys


def _payload(signer, **kw):
    claims, sig = signing.sign_claims(_claims(**kw), signer)
    return signing.encode_payload(claims, sig)


def test_base45_round_trip_and_rfc_example():
    assert signing.b45encode(b"AB") == "BB8"
    assert signing.b45encode(b"Hello!!") == "%69 VD92EX0"
    assert signing.b45decode("%69 VD92EX0") == b"Hello!!"


@given(st.binary(max_size=300))
def test_base45_decodes_what_it_encodes(data):
    assert signing.b45decode(signing.b45encode(data)) == data


def test_ed25519_payload_verifies(ed):
    signer, keys = ed
    result = signing.verify_payload(_payload(signer), keys, now=NOW)
    assert result.valid, result.reasons
    assert result.claims["no"] == "3301062026SBK000001"


def test_payload_is_compact_and_has_no_full_id_number(ed):
    signer, _ = ed
    p = _payload(signer)
    assert p.startswith("YWC1:") and len(p) < 900
    body = zlib.decompress(signing.b45decode(p[5:])).decode()
    assert "330106199003070006" not in body


def test_canonical_form_is_deterministic():
    a = signing.canonical({"b": 1, "a": "中"})
    b = signing.canonical({"a": "中", "b": 1})
    assert a == b == '{"a":"中","b":1}'.encode()


def test_changed_claim_is_a_bad_signature(ed):
    signer, keys = ed
    claims, sig = signing.sign_claims(_claims(), signer)
    forged = {**claims, "vt": "2099-12-31"}
    result = signing.verify_claims(forged, sig, keys, now=NOW)
    assert not result.valid
    assert result.codes == ["bad_signature"]


@pytest.mark.parametrize("field", sorted(k for k in _claims() if k not in ("v",)))
def test_every_field_is_covered_by_the_signature(ed, field):
    signer, keys = ed
    claims, sig = signing.sign_claims(_claims(), signer)
    value = claims[field]
    claims[field] = value + 1 if isinstance(value, int) else str(value) + "x"
    assert signing.verify_claims(claims, sig, keys, now=NOW).codes == ["bad_signature"]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_byte_flip_in_the_payload_is_invalid(ed, data):
    signer, keys = ed
    claims, sig = signing.sign_claims(_claims(), signer)
    body = bytearray(signing.canonical({**claims, "sig": signing._b64u(sig)}))
    i = data.draw(st.integers(0, len(body) - 1))
    bit = data.draw(st.integers(0, 7))
    body[i] ^= 1 << bit
    text = "YWC1:" + signing.b45encode(zlib.compress(bytes(body)))
    result = signing.verify_payload(text, keys, now=NOW)
    assert not result.valid
    assert result.reasons


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_character_change_in_the_qr_text_is_invalid(ed, data):
    signer, keys = ed
    p = _payload(signer)
    i = data.draw(st.integers(5, len(p) - 1))
    c = data.draw(st.sampled_from(signing.B45).filter(lambda ch: ch != p[i]))
    result = signing.verify_payload(p[:i] + c + p[i + 1 :], keys, now=NOW)
    assert not result.valid


def test_bad_signature_message_says_content_altered(ed):
    signer, keys = ed
    claims, sig = signing.sign_claims(_claims(), signer)
    result = signing.verify_claims({**claims, "hn": "李四"}, sig, keys, now=NOW)
    assert "altered" in result.summary()


def test_unknown_key(ed):
    signer, _ = ed
    result = signing.verify_payload(_payload(signer), signing.KeyList(), now=NOW)
    assert result.codes == ["unknown_key"]


def test_expired_certificate(ed):
    signer, keys = ed
    result = signing.verify_payload(_payload(signer, vt="2026-05-31"), keys, now=NOW)
    assert result.codes == ["expired"]
    assert result.signature_ok


def test_not_yet_valid(ed):
    signer, keys = ed
    result = signing.verify_payload(_payload(signer, vf="2026-07-01"), keys, now=NOW)
    assert result.codes == ["not_yet_valid"]


def test_key_retired_before_signing_is_invalid():
    signer = signing.Ed25519Signer("k-r", signing.generate_private_key(signing.ED25519))
    keys = signing.KeyList()
    retired = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    keys.add(signing.KeyInfo("k-r", signing.ED25519, signer.public_key(), retired_at=retired))
    assert signing.verify_payload(_payload(signer), keys, now=NOW).codes == ["key_retired"]


def test_key_retired_after_signing_still_verifies():
    signer = signing.Ed25519Signer("k-r2", signing.generate_private_key(signing.ED25519))
    keys = signing.KeyList()
    retired = dt.datetime(2026, 5, 20, tzinfo=dt.UTC)
    keys.add(signing.KeyInfo("k-r2", signing.ED25519, signer.public_key(), retired_at=retired))
    assert signing.verify_payload(_payload(signer), keys, now=NOW).valid


def test_compromised_key_is_invalid():
    signer = signing.Ed25519Signer("k-c", signing.generate_private_key(signing.ED25519))
    keys = signing.KeyList()
    at = dt.datetime(2026, 5, 20, tzinfo=dt.UTC)
    keys.add(signing.KeyInfo("k-c", signing.ED25519, signer.public_key(), compromised_at=at))
    assert "key_compromised" in signing.verify_payload(_payload(signer), keys, now=NOW).codes


def test_revocation_in_the_key_list_is_reported_with_date_and_reason(ed):
    signer, keys = ed
    p = _payload(signer)
    ident = _claims()["id"]
    offline = signing.KeyList(keys=dict(keys.keys))
    offline.revocations[ident] = signing.RevocationInfo(
        ident, dt.datetime(2026, 5, 10, 2, tzinfo=dt.UTC), "信息有误"
    )
    result = signing.verify_payload(p, offline, now=NOW)
    assert result.codes == ["revoked"]
    assert "2026-05-10" in result.summary() and "信息有误" in result.summary()


def test_copy_expires(ed):
    signer, keys = ed
    copy = {"k": "copy", "cid": "X.C1", "pu": "入学", "rn": "教育局", "rc": "jyj", "cr": "张*"}
    ok = _payload(signer, **copy, ex="2026-06-02T00:00:00+00:00")
    late = _payload(signer, **copy, ex="2026-05-31T00:00:00+00:00")
    assert signing.verify_payload(ok, keys, now=NOW).valid
    assert signing.verify_payload(late, keys, now=NOW).codes == ["copy_expired"]


def test_copy_without_its_limits_is_incomplete(ed):
    signer, keys = ed
    assert signing.verify_payload(_payload(signer, k="copy"), keys, now=NOW).codes == ["incomplete"]


def test_holder_code_check(ed):
    signer, keys = ed
    p = _payload(signer)
    assert signing.verify_payload(p, keys, now=NOW, holder_code="330106199003070006").valid
    wrong = signing.verify_payload(p, keys, now=NOW, holder_code="110101199003071234")
    assert wrong.codes == ["holder_mismatch"]


def test_document_data_must_match_its_hash(ed):
    signer, keys = ed
    doc = {"payload": _payload(signer), "data": {"card_number": "A2"}}
    assert signing.verify_document(doc, keys, now=NOW).codes == ["data_mismatch"]


@pytest.mark.parametrize("text", ["", "hello", "YWC1:", "YWC1:!!!", "YWC1:ABC", "{}"])
def test_garbage_is_malformed_not_an_exception(ed, text):
    _, keys = ed
    result = signing.verify_payload(text, keys, now=NOW)
    assert not result.valid and result.codes == ["malformed"]


def test_verification_link_is_accepted(ed):
    signer, keys = ed
    from urllib.parse import quote

    link = "https://yiwang.example/certs/verify/?p=" + quote(_payload(signer), safe=":")
    assert signing.verify_payload(link, keys, now=NOW).valid


def test_key_list_json_round_trip(ed):
    signer, keys = ed
    again = signing.KeyList.from_json(keys.to_json())
    assert signing.verify_payload(_payload(signer), again, now=NOW).valid


def test_key_list_rejects_other_json():
    with pytest.raises(signing.SigningError):
        signing.KeyList.from_json({"keys": []})


def test_sm2_signs_and_verifies_through_the_same_interface():
    pytest.importorskip("gmssl")
    signer = signing.Sm2Signer("k-sm2", signing.generate_private_key(signing.SM2))
    keys = signing.KeyList()
    keys.add(signing.KeyInfo("k-sm2", signing.SM2, signer.public_key()))
    p = _payload(signer)
    assert signing.verify_payload(p, keys, now=NOW).valid
    claims, sig = signing.decode_payload(p)
    assert signing.verify_claims({**claims, "no": "X"}, sig, keys, now=NOW).codes == [
        "bad_signature"
    ]


def test_algorithm_mismatch_is_invalid(ed):
    signer, keys = ed
    claims, sig = signing.sign_claims(_claims(), signer)
    claims["alg"] = "SM2"
    assert signing.verify_claims(claims, sig, keys, now=NOW).codes == ["algorithm_mismatch"]


def test_sm2_without_gmssl_is_a_clear_error(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_gmssl(name, *a, **k):
        if name.startswith("gmssl"):
            raise ImportError("no gmssl")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_gmssl)
    with pytest.raises(signing.SigningError, match="gmssl"):
        signing.generate_private_key(signing.SM2)


def test_sign_and_encode_gives_the_same_verifiable_payload(ed):
    signer, keys = ed
    claims, sig, payload = signing.sign_and_encode(_claims(), signer)
    assert payload == signing.encode_payload(claims, sig)
    assert signing.verify_payload(payload, keys, now=NOW).valid


def test_sm2_key_whose_x_starts_with_04_verifies():
    """gmssl strips a leading "04" from a 64-byte key (taking it for the uncompressed-point
    prefix), so 1 key in 256 failed before the signer set the key itself."""
    pytest.importorskip("gmssl")
    signer = signing.Sm2Signer("k04", (11).to_bytes(32, "big"))  # 11·G has x = 04…
    assert signer._pub[:1] == b"\x04"
    verifier = signing.make_verifier(signing.SM2, signer.public_key())
    assert verifier.verify(b"msg", signer.sign(b"msg"))


def test_every_single_bit_flip_of_the_payload_body_is_invalid(ed):
    """Exhaustive companion of the property above: each bit of the compressed-before body."""
    signer, keys = ed
    claims, sig = signing.sign_claims(_claims(), signer)
    body = signing.encode_payload(claims, sig)
    raw = zlib.decompress(signing.b45decode(body[5:]))
    accepted = []
    for i in range(len(raw)):
        for bit in range(8):
            b = bytearray(raw)
            b[i] ^= 1 << bit
            text = "YWC1:" + signing.b45encode(zlib.compress(bytes(b)))
            if signing.verify_payload(text, keys, now=NOW).valid:
                accepted.append((i, bit))
    assert accepted == []
