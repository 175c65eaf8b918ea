"""Data quality rules per dataset: completeness, validity, uniqueness, timeliness.

The rules come from the dataset's schema and its data elements, so publishing a schema is
enough to get them:

- completeness — every field: the share of rows with a value (required fields weigh double);
- validity — fields whose data element names a python-stdnum validator (``cn.uscc``,
  ``cn.ric``) or a code table (GB/T 4754 industries in ``core.IndustryCode``, GB/T 2260
  divisions in ``accounts.Division``), and fields with an ``enum`` constraint;
- uniqueness — fields with a ``unique`` constraint;
- timeliness — the latest load against the update frequency.

The score is 0–100: completeness 30, validity 40, uniqueness 15, timeliness 15 (a family
with no applicable rule counts as full). A run with problems sets a deadline for the owning
department (``QUALITY_FIX_DAYS``) and is audited.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import audit
from yiwang.exchange.actions import FILLED_KEY
from yiwang.exchange.models import FREQUENCY_DAYS, DataElement, Dataset, QualityRun, Record

QUALITY_FIX_DAYS = 10
WEIGHTS = {"completeness": 30, "validity": 40, "uniqueness": 15, "timeliness": 15}
CHUNK = 5000


def stdnum_module(name: str) -> ModuleType | None:
    """``cn.uscc`` → ``stdnum.cn.uscc`` (None when python-stdnum has no such module)."""
    if not name or not all(part.isidentifier() for part in name.split(".")):
        return None
    try:
        mod = importlib.import_module(f"stdnum.{name}")
    except ImportError:
        return None
    return mod if hasattr(mod, "is_valid") else None


def _code_table(ref: str) -> tuple[str, frozenset[str]] | None:
    """The codes of the table version valid today (or the pinned one), labelled."""
    from yiwang.core import codetables
    from yiwang.core.errors import NotFound

    try:
        ver, codes = codetables.members(ref)
    except NotFound:
        return None
    return f"{codetables.display(ver.table)} ({ver.version})", codes


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_INDEX = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _uscc_fast(value: str) -> bool:
    """python-stdnum's ``cn.uscc`` check for an already compact value (18 characters: 8
    digits, then the code alphabet, the last one the check character), without its per-call
    cleaning; anything else is left to stdnum itself."""
    if len(value) != 18 or not value[:8].isdigit():
        return False
    try:
        total = sum(_USCC_INDEX[c] * w for c, w in zip(value, _USCC_WEIGHTS, strict=False))
        last = _USCC_INDEX[value[17]]
    except KeyError:
        return False
    return _USCC_ALPHABET[(31 - total) % 31] == _USCC_ALPHABET[last]


def _stdnum_check(mod: ModuleType) -> Callable[[Any], bool]:
    if mod.__name__ == "stdnum.cn.uscc":
        # The fast path answers "valid" only when stdnum would; every other value (including
        # ones with separators or lower case, which stdnum compacts first) goes to stdnum.
        return lambda v: _uscc_fast(str(v)) or bool(mod.is_valid(str(v)))
    return lambda v: bool(mod.is_valid(str(v)))


def _member_check(allowed: set[str] | frozenset[str]) -> Callable[[Any], bool]:
    return lambda v: str(v) in allowed


def _validators(ds: Dataset) -> dict[str, tuple[str, Callable[[Any], bool]]]:
    elements = {e.code: e for e in DataElement.objects.all()}
    out: dict[str, tuple[str, Callable[[Any], bool]]] = {}
    for f in ds.fields:
        name = f["name"]
        el = elements.get(f.get("element", ""))
        enum = (f.get("constraints") or {}).get("enum")
        if el is not None and el.validator and (mod := stdnum_module(el.validator)):
            out[name] = (f"stdnum.{el.validator}", _stdnum_check(mod))
        elif (ref := f.get("codeTable") or (el.code_table if el is not None else "")) and (
            table := _code_table(ref)
        ):
            out[name] = (table[0], _member_check(table[1]))
        elif enum:
            out[name] = ("enum", _member_check(set(map(str, enum))))
    return out


def _rows(ds: Dataset, decrypt: bool) -> Iterator[dict[str, Any]]:
    """Every row's values in primary-key chunks (low memory); personal fields decrypted only
    when a rule needs their values, else only marked as present (``FILLED_KEY``)."""
    last = 0
    personal = decrypt and bool(ds.personal_field_names)
    pi_names = ds.personal_field_names
    while True:
        fields = ["id", "data", "sealed"] if personal else ["id", "data"]
        chunk = list(
            Record.objects.filter(dataset=ds, id__gt=last)
            .order_by("id")
            .values_list(*fields)[:CHUNK]
        )
        if not chunk:
            return
        for item in chunk:
            values = item[1]
            if personal:
                if item[2]:
                    values.update(json.loads(item[2]))
            elif pi_names:
                for n in values.get(FILLED_KEY, ()):
                    values[n] = True  # present; the value itself is not needed
            yield values
        last = chunk[-1][0]


_SIMPLE = re.compile(r"\A[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*\Z")


def _expr(vendor: str, name: str) -> str:
    """SQL for the text of one top-level key of ``data`` (NULL when missing or JSON null);
    ``name`` is checked against ``_SIMPLE`` before it gets here."""
    if vendor == "postgresql":
        return f"(data ->> '{name}')"
    return f"json_extract(data, '$.\"{name}\"')"


def _counts_in_db(
    ds: Dataset, validators: dict[str, tuple[str, Callable[[Any], bool]]], unique: list[str]
) -> tuple[int, Counter[str], Counter[str], Counter[str], Counter[str]]:
    """Completeness and uniqueness counted by the database (JSON extraction, grouping); only
    the fields with a validity rule come back to Python, a chunk of rows at a time."""
    from django.db import connection

    vendor = connection.vendor
    table = Record._meta.db_table
    names = ds.field_names
    pi = set(ds.personal_field_names)
    parts = ["COUNT(*)"]
    params: list[Any] = []
    for n in names:
        if n in pi:  # present-marker list beside the sealed values
            parts.append(f"SUM(CASE WHEN {_expr(vendor, FILLED_KEY)} LIKE %s THEN 1 ELSE 0 END)")
            params.append(f'%"{n}"%')
        else:
            e = _expr(vendor, n)
            parts.append(f"SUM(CASE WHEN {e} IS NOT NULL AND {e} <> '' THEN 1 ELSE 0 END)")
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(parts)} FROM {table} WHERE dataset_id = %s",  # noqa: S608
            [*params, ds.pk],
        )
        got = cur.fetchone()
        rows = int(got[0] or 0)
        filled: Counter[str] = Counter({n: int(got[i + 1] or 0) for i, n in enumerate(names)})
        dupes: Counter[str] = Counter()
        for n in unique:
            e = _expr(vendor, n)
            cur.execute(
                f"SELECT SUM(c - 1) FROM (SELECT COUNT(*) AS c FROM {table} "  # noqa: S608
                f"WHERE dataset_id = %s AND {e} IS NOT NULL AND {e} <> '' "
                f"GROUP BY {e} HAVING COUNT(*) > 1) AS d",
                [ds.pk],
            )
            dupes[n] = int(cur.fetchone()[0] or 0)
    checked: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    vnames = list(validators)
    if vnames:
        rules = [validators[n][1] for n in vnames]
        cols = ", ".join(_expr(vendor, n) for n in vnames)
        with connection.cursor() as cur:
            cur.execute(f"SELECT {cols} FROM {table} WHERE dataset_id = %s", [ds.pk])  # noqa: S608
            while chunk := cur.fetchmany(CHUNK):
                for values in chunk:
                    for n, rule, v in zip(vnames, rules, values, strict=True):
                        if v is None or v == "":
                            continue
                        checked[n] += 1
                        if not rule(v):
                            invalid[n] += 1
    return rows, filled, checked, invalid, dupes


def _consistency(ds: Dataset) -> list[dict[str, Any]]:
    """Cross-source consistency: a non-personal field bound to a data element is compared,
    subject by subject, with the same element in other datasets about the same kind of
    subject (one enterprise's name or address in two departments' data). Reported as
    problems; not part of the score."""
    if not ds.subject_kind:
        return []
    mine = {
        f["name"]: f["element"]
        for f in ds.fields
        if f.get("element")
        and f["name"] != ds.subject_field
        and f.get("sensitivity") not in ("pi", "spi")
    }
    if not mine:
        return []
    out = []
    others = Dataset.objects.filter(subject_kind=ds.subject_kind).exclude(pk=ds.pk)
    for other in others.order_by("code"):
        pairs = {
            n: g["name"]
            for n, el in mine.items()
            for g in other.fields
            if g.get("element") == el and g.get("sensitivity") not in ("pi", "spi")
        }
        if not pairs:
            continue
        theirs: dict[str, dict[str, Any]] = {}
        for sh, data in Record.objects.filter(dataset=other).values_list("subject_hash", "data"):
            theirs.setdefault(sh, data)
        compared: Counter[str] = Counter()
        differ: Counter[str] = Counter()
        for sh, data in Record.objects.filter(dataset=ds).values_list("subject_hash", "data"):
            o = theirs.get(sh)
            if o is None:
                continue
            for n, m in pairs.items():
                a, b = data.get(n), o.get(m)
                if _empty(a) or _empty(b):
                    continue
                compared[n] += 1
                if str(a).strip() != str(b).strip():
                    differ[n] += 1
        for n in pairs:
            rate = 1 - differ[n] / compared[n] if compared[n] else 1.0
            out.append(
                {
                    "rule": "consistency",
                    "field": n,
                    "with": f"{other.code}.{pairs[n]}",
                    "checked": compared[n],
                    "failed": differ[n],
                    "pass_rate": round(rate, 4),
                }
            )
    return out


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == []


def run_quality(ds: Dataset, *, now: dt.datetime | None = None, actor: Any = None) -> QualityRun:
    started = time.perf_counter()
    now = now or timezone.now()
    names = ds.field_names
    required = {f["name"] for f in ds.fields if (f.get("constraints") or {}).get("required")} | set(
        ds.primary_key
    )
    unique = [f["name"] for f in ds.fields if (f.get("constraints") or {}).get("unique")]
    validators = _validators(ds)
    pi = set(ds.personal_field_names)
    decrypt = bool(pi & (set(validators) | set(unique)))
    filled: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    checked: Counter[str] = Counter()
    seen: dict[str, set[Any]] = {n: set() for n in unique}
    dupes: Counter[str] = Counter()
    rows = 0
    in_db = not decrypt and all(_SIMPLE.match(n) for n in names)
    if in_db:
        rows, filled, checked, invalid, dupes = _counts_in_db(ds, validators, unique)
    for values in () if in_db else _rows(ds, decrypt):
        rows += 1
        for n in names:
            v = values.get(n)
            if _empty(v):
                continue
            filled[n] += 1
            rule = validators.get(n)
            if rule is not None:
                checked[n] += 1
                if not rule[1](v):
                    invalid[n] += 1
            if n in seen:
                if v in seen[n]:
                    dupes[n] += 1
                else:
                    seen[n].add(v)
    checks: list[dict[str, Any]] = []
    weights_c = 0.0
    comp = 0.0
    for n in names:
        w = 2.0 if n in required else 1.0
        share = filled[n] / rows if rows else 1.0
        comp += w * share
        weights_c += w
        checks.append(
            {
                "rule": "completeness",
                "field": n,
                "checked": rows,
                "failed": rows - filled[n],
                "pass_rate": round(share, 4),
                "required": n in required,
            }
        )
    validity = []
    for n, (kind, _fn) in validators.items():
        rate = 1 - invalid[n] / checked[n] if checked[n] else 1.0
        validity.append(rate)
        checks.append(
            {
                "rule": "validity",
                "field": n,
                "by": kind,
                "checked": checked[n],
                "failed": invalid[n],
                "pass_rate": round(rate, 4),
            }
        )
    uniq = []
    for n in unique:
        rate = 1 - dupes[n] / filled[n] if filled[n] else 1.0
        uniq.append(rate)
        checks.append(
            {
                "rule": "uniqueness",
                "field": n,
                "checked": filled[n],
                "failed": dupes[n],
                "pass_rate": round(rate, 4),
            }
        )
    checks.extend(_consistency(ds))
    max_age = FREQUENCY_DAYS.get(ds.frequency, 3650)
    age = (now - ds.loaded_at).total_seconds() / 86400 if ds.loaded_at else None
    timely = age is not None and age <= max_age
    checks.append(
        {
            "rule": "timeliness",
            "field": "",
            "age_days": round(age, 1) if age is not None else None,
            "max_days": max_age,
            "failed": 0 if timely else 1,
            "pass_rate": 1.0 if timely else 0.0,
        }
    )
    parts = {
        "completeness": comp / weights_c if weights_c else 1.0,
        "validity": sum(validity) / len(validity) if validity else 1.0,
        "uniqueness": sum(uniq) / len(uniq) if uniq else 1.0,
        "timeliness": 1.0 if timely else 0.0,
    }
    score = sum(WEIGHTS[k] * v for k, v in parts.items())
    problems = sum(1 for c in checks if c["failed"])
    # The deadline sticks while problems remain (a later run does not move it); the owning
    # department is told when problems first appear, its leaders when the deadline passed.
    today = timezone.localdate(now) if now is not None else timezone.localdate()
    prev = ds.quality_runs.order_by("-at", "-pk").first()
    carried = prev is not None and prev.problems and prev.due_on is not None
    due_on = None
    stage = ""
    if problems:
        due_on = (
            prev.due_on
            if carried and prev is not None
            else today + dt.timedelta(days=QUALITY_FIX_DAYS)
        )
        stage = "overdue" if carried and due_on is not None and due_on < today else ""
        stage = stage or ("" if carried else "new")
    with transaction.atomic():
        run = QualityRun.objects.create(
            dataset=ds,
            at=now,
            version=ds.version,
            rows=rows,
            score=Decimal(str(round(score, 1))),
            checks=checks,
            problems=problems,
            due_on=due_on,
            seconds=round(time.perf_counter() - started, 3),
        )
        audit.record(
            "exchange.quality_run",
            actor=actor,
            obj=ds,
            detail={
                "run": run.pk,
                "score": float(run.score),
                "problems": problems,
                "due_on": str(run.due_on or ""),
                "parts": {k: round(v, 4) for k, v in parts.items()},
            },
        )
        if stage:
            from yiwang.exchange.tasks import send_quality_notice

            run_id = run.pk
            transaction.on_commit(lambda: send_quality_notice(run_id, stage))
    return run


NOTICE = "exchange.quality_notice"


def _notice_text(run: QualityRun, stage: str) -> tuple[str, str]:
    """(subject, body) in the active language (the recipient's: ``send_quality_notice``)."""
    ds = run.dataset
    failing = sorted({f"{c['rule']}:{c['field']}".rstrip(":") for c in run.checks if c["failed"]})
    values = {"name": ds.name, "code": ds.code, "due": run.due_on}
    if stage == "overdue":
        subject = _("Overdue, not rectified: %(name)s") % values
        lead = (
            _(
                "The quality problems of the dataset “%(name)s” (%(code)s) are still not solved "
                "after the deadline (%(due)s)"
            )
            % values
        )
    else:
        subject = _("Please rectify: %(name)s") % values
        lead = (
            _(
                "The quality check of the dataset “%(name)s” (%(code)s) found problems; rectify "
                "them by %(due)s"
            )
            % values
        )
    body = _(
        "%(lead)s. Score %(score)s; problems: %(failing)s. Log in to the data sharing "
        "platform to read the quality report."
    ) % {"lead": lead, "score": run.score, "failing": _(", ").join(failing)}
    return _("[Data quality]") + subject, body


def send_quality_notice(run_id: int, stage: str) -> dict[str, int]:
    """Email the owning department about a quality run's problems — its data staff and
    leaders when they first appear (``new``), its leaders when the deadline has passed
    (``overdue``) — once per recipient, deadline and stage (each sending is audited)."""
    from yiwang.accounts.language import in_language_of
    from yiwang.accounts.models import User
    from yiwang.accounts.roles import Cap, Role
    from yiwang.core import notify
    from yiwang.core.models import AuditRecord

    counts = {"sent": 0, "skipped": 0, "failed": 0}
    run = QualityRun.objects.select_related("dataset__owner").filter(pk=run_id).first()
    if run is None or not run.problems:
        return counts
    ds = run.dataset
    roles = [Role.DEPT_LEADER] if stage == "overdue" else [Role.DEPT_STAFF, Role.DEPT_LEADER]
    users = User.objects.filter(department=ds.owner, role__in=roles, is_active=True).order_by("pk")
    done = {
        str((d or {}).get("ref", ""))
        for d in AuditRecord.objects.filter(
            event=NOTICE, object_type="exchange.dataset", object_id=str(ds.pk)
        ).values_list("detail", flat=True)
    }
    retry = False
    for user in users:
        if not user.email or not user.can(Cap.DATA_PUBLISH):
            continue
        ref = f"{stage}:{run.due_on}:user:{user.pk}"
        if ref in done:
            counts["skipped"] += 1
            continue
        with in_language_of(user):  # ADR 0022
            subject, body = _notice_text(run, stage)
        try:
            notify.send_email(user.email, subject, body, key=f"quality-{ds.pk}-{ref}")
        except Exception as exc:
            counts["failed"] += 1
            transient = isinstance(exc, notify.NotifyError) and not exc.permanent
            retry = retry or transient
            continue
        audit.record(
            NOTICE,
            obj=ds,
            detail={"ref": ref, "run": run.pk, "stage": stage, "to": user.get_username()},
        )
        counts["sent"] += 1
    if retry:  # the job is retried; recipients already told are skipped
        raise notify.NotifyError("quality notice: a transient failure", permanent=False)
    return counts


def run_all(now: dt.datetime | None = None) -> dict[str, float]:
    """The scheduled run: every dataset with data."""
    return {
        ds.code: float(run_quality(ds, now=now).score)
        for ds in Dataset.objects.filter(rows__gt=0).order_by("code")
    }
