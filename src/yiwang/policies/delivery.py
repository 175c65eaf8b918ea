"""精准送: store the matches of an item or an enterprise and deliver new ones.

- :func:`match_item` — after publication: the item's rule over every enterprise in bulk
  (``matching.for_item``); the eligible and possibly eligible ones are stored as
  ``PolicyMatch`` rows (with the facts that would settle an open condition), the rest removed.
- :func:`rematch_enterprise` — after a profile change: one enterprise against every open
  item (``matching.for_enterprise``), its stored matches brought up to date.
- :func:`deliver` — every stored match without a delivery becomes one ``PolicyDelivery``
  (the inbox; unique per item and organisation, so once per item ever) unless the enterprise
  opted out, and its enterprise users are told by email / SMS through ``core.notify``
  (queued, audited as sends).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from yiwang.accounts.language import in_language_of
from yiwang.accounts.models import User
from yiwang.accounts.roles import Role
from yiwang.core import audit, notify
from yiwang.core.models import AuditRecord, AuditResult
from yiwang.policies import matching, profile
from yiwang.policies.models import (
    ItemStatus,
    PolicyDelivery,
    PolicyItem,
    PolicyItemVersion,
    PolicyMatch,
    PolicyPreference,
    Target,
)
from yiwang.registry.models import Organisation
from yiwang.rules import evaluate_many

log = logging.getLogger(__name__)
SENT = "policies.notice_sent"
FAILED = "policies.notice_failed"
PURPOSE = "惠企政策精准推送 (policy delivery)"
CHUNK = 2000


def _amount(a: float | None) -> Decimal | None:
    if a is None or a != a:
        return None
    return Decimal(str(round(a, 2)))


def _evaluations(
    version: PolicyItemVersion, orgs: Sequence[Organisation | profile.OrgRow], as_of: dt.date
) -> list[Any]:
    """Per-entity evaluations from the organisations' rows (the reference the bulk path is
    tested against, and the bench's "before")."""
    rule = matching.rule_of(version)
    raws = profile.bulk_raw_facts(list(orgs), as_of=None)
    return [evaluate_many([rule], r, as_of, trace=False)[0] for r in raws]


def _match_row(
    item: PolicyItem,
    version: PolicyItemVersion,
    org_id: int,
    ev: Any,
    now: dt.datetime,
) -> PolicyMatch:
    return PolicyMatch(
        item=item,
        version=version,
        organisation_id=org_id,
        verdict=ev.verdict,
        score=ev.score,
        amount=_amount(ev.amount),
        missing=[{"id": u["id"], "facts": u["facts"], "reason": u["reason"]} for u in ev.unknown],
        failed=[{"id": f["id"], "fact": f.get("fact")} for f in ev.failed],
        evaluated_at=now,
    )


def match_rows_per_entity(
    item: PolicyItem, version: PolicyItemVersion, ids: Sequence[int], day: dt.date
) -> list[PolicyMatch]:
    """The stored rows as the per-entity evaluator gives them from the organisations' rows,
    chunk by chunk (the path before the fact columns; kept as the reference)."""
    now = timezone.now()
    rows: list[PolicyMatch] = []
    for start in range(0, len(ids), CHUNK):
        chunk = profile.org_rows(Organisation.objects.filter(pk__in=ids[start : start + CHUNK]))
        for o, ev in zip(chunk, _evaluations(version, chunk, day), strict=True):
            if ev.verdict != "fail":
                rows.append(_match_row(item, version, o.pk, ev, now))
    return rows


@dataclass
class _Group:
    """What the stored rows of one group of enterprises (same atom values) share."""

    verdict: str
    score: float | None
    missing: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    missing_json: str = ""
    failed_json: str = ""


def _explained(
    item: PolicyItem,
    version: PolicyItemVersion,
    ids: Sequence[int],
    day: dt.date,
    snapshot: Any,
) -> Iterator[list[tuple[int, _Group, Decimal | None]]]:
    """(organisation id, its group, its amount), ``CHUNK`` at a time, from the fact columns."""
    import json

    rule = matching.rule_of(version)
    ex = matching.explain_many(rule, ids, as_of=day, snapshot=snapshot)
    groups: dict[int, _Group] = {}
    for start in range(0, len(ex.ids), CHUNK):
        out: list[tuple[int, _Group, Decimal | None]] = []
        for i in range(start, min(start + CHUNK, len(ex.ids))):
            ev = ex.evaluations[i]
            if ev.verdict == "fail":  # pragma: no cover - the two engines agree (tested)
                log.error("bulk and per-entity verdicts differ for %s / %s", item.code, ex.ids[i])
                continue
            g = groups.get(id(ev))
            if g is None:
                missing = [
                    {"id": u["id"], "facts": u["facts"], "reason": u["reason"]} for u in ev.unknown
                ]
                failed = [{"id": f["id"], "fact": f.get("fact")} for f in ev.failed]
                g = groups[id(ev)] = _Group(
                    ev.verdict, ev.score, missing, failed, json.dumps(missing), json.dumps(failed)
                )
            out.append((ex.ids[i], g, _amount(ex.amounts[i])))
        yield out


def match_rows(
    item: PolicyItem,
    version: PolicyItemVersion,
    ids: Sequence[int],
    day: dt.date,
    *,
    snapshot: Any = None,
    now: dt.datetime | None = None,
) -> Iterator[list[PolicyMatch]]:
    """The stored rows of the given enterprises, ``CHUNK`` at a time, from the fact columns
    (``matching.explain_many``: the per-entity evaluator once per distinct combination of
    atom values, no organisation or fact rows read)."""
    now = now or timezone.now()
    for chunk in _explained(item, version, ids, day, snapshot):
        yield [
            PolicyMatch(
                item=item,
                version=version,
                organisation_id=oid,
                verdict=g.verdict,
                score=g.score,
                amount=amount,
                missing=g.missing,
                failed=g.failed,
                evaluated_at=now,
            )
            for oid, g, amount in chunk
        ]


def _store(
    item: PolicyItem,
    version: PolicyItemVersion,
    ids: Sequence[int],
    day: dt.date,
    snapshot: Any,
) -> int:
    """Insert the rows without model instances: ``COPY`` on PostgreSQL, one prepared
    ``INSERT`` run over each chunk (``executemany``) elsewhere. Returns the rows written."""
    from django.db import connection

    now = timezone.now()
    n = 0
    table = PolicyMatch._meta.db_table
    cols = "item_id, version_id, organisation_id, verdict, score, amount, missing, failed, "
    if connection.vendor != "postgresql":
        # Values as the fields would save them (the same adaptation as bulk_create).
        amount_field = PolicyMatch._meta.get_field("amount")
        at = PolicyMatch._meta.get_field("evaluated_at").get_db_prep_save(now, connection)
        sql = f"INSERT INTO {table} ({cols}evaluated_at) VALUES ({', '.join(['%s'] * 9)})"  # noqa: S608
        with connection.cursor() as cur:
            for chunk in _explained(item, version, ids, day, snapshot):
                cur.executemany(
                    sql,
                    [
                        (
                            item.pk,
                            version.pk,
                            oid,
                            g.verdict,
                            g.score,
                            amount_field.get_db_prep_save(amount, connection),
                            g.missing_json,
                            g.failed_json,
                            at,
                        )
                        for oid, g, amount in chunk
                    ],
                )
                n += len(chunk)
        return n
    with connection.cursor() as cur:
        sql = f"COPY {table} ({cols}evaluated_at) FROM STDIN"
        with cur.cursor.copy(sql) as cp:
            for chunk in _explained(item, version, ids, day, snapshot):
                for oid, g, amount in chunk:
                    cp.write_row(
                        (
                            item.pk,
                            version.pk,
                            oid,
                            g.verdict,
                            g.score,
                            amount,
                            g.missing_json,
                            g.failed_json,
                            now,
                        )
                    )
                n += len(chunk)
    return n


def match_item(item: PolicyItem, *, as_of: dt.date | None = None) -> dict[str, int]:
    """Bulk-match a published item over all enterprises and store the result."""
    from yiwang.policies import factstore

    day = as_of or profile.today()
    version = item.published_version
    if (
        version is None
        or item.status != ItemStatus.PUBLISHED
        or item.target != Target.ENTERPRISE
        or (item.closes_on is not None and item.closes_on < day)
    ):
        removed, _n = PolicyMatch.objects.filter(item=item).delete()
        return {"pass": 0, "unknown": 0, "removed": removed}
    snap = factstore.current()  # one table for the counts and the rows
    summary = matching.for_item(item, as_of=day, snapshot=snap)
    ids = summary.pass_ids + summary.unknown_ids
    with transaction.atomic():
        PolicyMatch.objects.filter(item=item).delete()
        _store(item, version, ids, day, snap)
        audit.record(
            "policies.matched",
            obj=item,
            detail={
                "version": version.number,
                "pass": summary.counts["pass"],
                "unknown": summary.counts["unknown"],
                "enterprises": summary.total,
            },
        )
    return {"pass": summary.counts["pass"], "unknown": summary.counts["unknown"], "removed": 0}


def rematch_enterprise(org: Organisation, *, as_of: dt.date | None = None) -> dict[str, int]:
    """Bring one enterprise's stored matches up to date against every open item."""
    day = as_of or profile.today()
    results = matching.for_enterprise(org, as_of=day)
    now = timezone.now()
    keep: list[PolicyMatch] = []
    for m in results:
        if m.verdict == "fail":
            continue
        keep.append(_match_row(m.item, m.item.published_version, org.pk, m.evaluation, now))  # type: ignore[arg-type]
    open_ids = [m.item.pk for m in results]
    with transaction.atomic():
        PolicyMatch.objects.filter(organisation=org, item_id__in=open_ids).delete()
        PolicyMatch.objects.bulk_create(keep)
        audit.record(
            "policies.rematched",
            obj=org,
            subject_id=f"organisation:{org.pk}",
            detail={
                "items": len(results),
                "pass": sum(1 for m in keep if m.verdict == "pass"),
                "unknown": sum(1 for m in keep if m.verdict == "unknown"),
            },
        )
    return {"items": len(results), "matches": len(keep)}


def _opted_out(org_ids: Iterable[int]) -> set[int]:
    return set(
        PolicyPreference.objects.filter(organisation_id__in=list(org_ids), push=False).values_list(
            "organisation_id", flat=True
        )
    )


def deliver(
    *, item: PolicyItem | None = None, organisation: Organisation | None = None
) -> list[int]:
    """Deliver every stored match (of the item, or of the organisation) not yet delivered.

    Returns the new delivery ids; their email/SMS sends are queued after commit."""
    qs = PolicyMatch.objects.filter(item__status=ItemStatus.PUBLISHED)
    if item is not None:
        qs = qs.filter(item=item)
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    pending = list(qs.values_list("pk", "item_id", "version_id", "organisation_id", "verdict"))
    done = set(
        PolicyDelivery.objects.filter(
            item_id__in={p[1] for p in pending}, organisation_id__in={p[3] for p in pending}
        ).values_list("item_id", "organisation_id")
    )
    pending = [p for p in pending if (p[1], p[3]) not in done]
    out = _opted_out(p[3] for p in pending)
    now = timezone.now()
    rows = [
        PolicyDelivery(
            item_id=i,
            version_id=v,
            organisation_id=o,
            verdict=verdict,
            delivered_at=now,
            channels=["inbox"],
        )
        for _pk, i, v, o, verdict in pending
        if o not in out
    ]
    if not rows:
        return []
    with transaction.atomic():
        made = PolicyDelivery.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        ids = list(
            PolicyDelivery.objects.filter(
                delivered_at=now,
                item_id__in={r.item_id for r in made},
                organisation_id__in={r.organisation_id for r in made},
            ).values_list("pk", flat=True)
        )
        audit.append_many(
            [
                audit.Entry(
                    event="policies.delivered",
                    object_type="policies.policydelivery",
                    object_id=str(pk),
                    detail={"channel": "inbox"},
                )
                for pk in ids
            ]
        )
        transaction.on_commit(lambda: _queue_notices(ids))
    return ids


def _queue_notices(ids: list[int]) -> None:
    """Queue the email/SMS job of each delivery whose enterprise has an account to tell (most
    registry enterprises have none: their inbox entry waits for them)."""
    from yiwang.policies.tasks import send_policy_notice

    codes = (
        User.objects.filter(role=Role.ENTERPRISE, is_active=True)
        .exclude(credit_code="")
        .values("credit_code")
    )
    if not codes.exists():
        return
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for pk in PolicyDelivery.objects.filter(
            pk__in=chunk, organisation__credit_code__in=codes
        ).values_list("pk", flat=True):
            send_policy_notice(pk)


# --- email / SMS --------------------------------------------------------------------------------
def _recipients(org: Organisation, pref: PolicyPreference) -> list[tuple[str, str, User]]:
    users = User.objects.filter(
        role=Role.ENTERPRISE, credit_code=org.credit_code, is_active=True
    ).order_by("pk")
    out: list[tuple[str, str, User]] = []
    for u in users:
        if pref.email and u.email:
            out.append(("email", u.email, u))
        if pref.sms and u.phone:
            out.append(("sms", u.phone, u))
    return out


def _text(d: PolicyDelivery) -> tuple[str, str]:
    """(subject, body) in the active language (the recipient's: ``send_notice``)."""
    item = d.item
    verdict = (
        _("meets the conditions to apply for")
        if d.verdict == "pass"
        else _("may meet the conditions (more information needed) to apply for")
    )
    values = {"verdict": verdict, "title": item.title, "department": item.department.name}
    if item.closes_on:
        closes = item.closes_on
        values["date"] = formats.date_format(closes, "DATE_FORMAT")  # 2026年3月5日
        body = _(
            "Your organisation %(verdict)s %(title)s (%(department)s); applications close on "
            "%(date)s. Log in to the enterprise service to see why it matched."
        )
    else:
        body = _(
            "Your organisation %(verdict)s %(title)s (%(department)s). Log in to the enterprise "
            "service to see why it matched."
        )
    return f"【政策通】{item.title}", body % values


def send_notice(delivery_id: int) -> dict[str, int]:
    """Email / SMS one delivery to the enterprise's users, once per recipient and channel."""
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    d = (
        PolicyDelivery.objects.select_related("item__department", "organisation")
        .filter(pk=delivery_id)
        .first()
    )
    if d is None:
        return counts
    pref = PolicyPreference.objects.filter(organisation=d.organisation).first()
    pref = pref or PolicyPreference(organisation=d.organisation)
    if not pref.push:
        return counts
    done = {
        str((x or {}).get("ref", ""))
        for x in AuditRecord.objects.filter(
            event=SENT, object_type="policies.policydelivery", object_id=str(d.pk)
        ).values_list("detail", flat=True)
    }
    channels = set(d.channels or [])
    retry = False
    for channel, to, user in _recipients(d.organisation, pref):
        ref = f"{channel}:user:{user.pk}"
        if ref in done:
            counts["skipped"] += 1
            continue
        with in_language_of(user):  # ADR 0022
            subject, body = _text(d)
        detail = {"ref": ref, "channel": channel, "to": notify.mask_recipient(channel, to)}  # type: ignore[arg-type]
        try:
            if channel == "email":
                notify.send_email(to, subject, body, key=f"policy-delivery-{d.pk}-{ref}")
            else:
                notify.send_sms(to, body, key=f"policy-delivery-{d.pk}-{ref}")
        except Exception as exc:
            permanent = isinstance(exc, ValueError) or (
                isinstance(exc, notify.NotifyError) and exc.permanent
            )
            retry = retry or not permanent
            counts["failed"] += 1
            audit.record(
                FAILED,
                obj=d,
                subject_id=f"user:{user.pk}",
                fields=[channel if channel == "email" else "phone"],
                purpose=PURPOSE,
                result=AuditResult.FAILED,
                detail={**detail, "error": type(exc).__name__},
            )
            continue
        audit.record(
            SENT,
            obj=d,
            subject_id=f"user:{user.pk}",
            fields=[channel if channel == "email" else "phone"],
            purpose=PURPOSE,
            detail=detail,
        )
        channels.add(channel)
        counts["sent"] += 1
    if channels != set(d.channels or []):
        PolicyDelivery.objects.filter(pk=d.pk).update(channels=sorted(channels))
    if retry:
        raise notify.NotifyError(f"policy delivery {d.pk}: {counts['failed']} sends failed")
    return counts


# --- the event handlers' work -------------------------------------------------------------------
def on_published(item_id: int) -> dict[str, Any]:
    item = PolicyItem.objects.select_related("published_version").filter(pk=item_id).first()
    if item is None:
        return {}
    result: dict[str, Any] = match_item(item)
    result["delivered"] = len(deliver(item=item))
    return result


def on_profile_changed(org_id: int) -> dict[str, Any]:
    org = Organisation.objects.filter(pk=org_id).first()
    if org is None:
        return {}
    result: dict[str, Any] = rematch_enterprise(org)
    result["delivered"] = len(deliver(organisation=org))
    return result
