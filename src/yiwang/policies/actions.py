"""政策通 writes: documents, items and their rule versions (maker–checker), enterprise facts,
corrections, inbox reads and preferences.

Every action is atomic and audited (``yiwang.core.audit``); bad input raises
``ValidationFailed`` with field messages (a rule's problems name the atom and the fact) and
writes nothing. Publishing and profile changes publish ``policies.published`` /
``policies.profile_changed`` after commit; the subscribers (``subscribers.py``) run the
matching and the delivery on the queue.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.accounts.models import Department, Division
from yiwang.accounts.roles import Cap
from yiwang.core import audit, events
from yiwang.core.errors import Conflict, Errors, Forbidden, NotFound, ValidationFailed
from yiwang.policies import profile, selectors
from yiwang.policies.matching import compile_rule, normalise_rule
from yiwang.policies.models import (
    BenefitType,
    CorrectionStatus,
    EnterpriseFact,
    FactCorrection,
    ItemStatus,
    PolicyAttachment,
    PolicyDelivery,
    PolicyDocument,
    PolicyItem,
    PolicyItemVersion,
    PolicyMatch,
    PolicyPreference,
    SourceKind,
    Target,
    VersionStatus,
)
from yiwang.registry.models import Organisation
from yiwang.rules import Rule, RuleError
from yiwang.rules.errors import FactError
from yiwang.rules.model import DateConst

PUBLISHED = "policies.published"
PROFILE_CHANGED = "policies.profile_changed"
SELF_DECLARED_SOURCE = "企业自行申报"
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")


def _require(actor: Any, cap: str) -> None:
    if actor is None:  # system (demo seed, scheduled jobs)
        return
    if not actor.can(cap):
        raise Forbidden()


def _today() -> dt.date:
    return profile.today()


# --- rules --------------------------------------------------------------------------------------
def rule_problems(problems: Iterable[Any]) -> list[str]:
    """Readable messages, each naming the atom and the fact where there is one."""
    out = []
    for p in problems:
        bits = []
        if p.atom_id:
            bits.append(_("atom %(id)s") % {"id": p.atom_id})
        if p.fact:
            bits.append(_("fact %(name)s") % {"name": p.fact})
        where = ", ".join(bits) or (p.path or _("rule"))
        out.append(f"{where}: {p.message}")
    return out


def check_rule(raw: Any, code: str, errors: Errors, field: str = "rule") -> Rule | None:
    """Parse ``raw`` against the catalog; problems go into ``errors[field]``."""
    if not isinstance(raw, Mapping):
        errors.add(field, _("A rule is a JSON object with a 'when' condition."))
        return None
    if "when" not in raw:
        errors.add(field, _("A rule needs a 'when' condition."))
        return None
    try:
        return compile_rule(normalise_rule(raw, code or "draft"))
    except RuleError as e:
        for msg in rule_problems(e.problems):
            errors.add(field, msg)
    except (ValueError, TypeError) as e:
        errors.add(field, str(e))
    return None


def _atom_signature(a: Any) -> dict[str, Any]:
    value = a.value
    if isinstance(value, tuple):
        value = list(value)
    elif isinstance(value, DateConst):
        value = value.text
    elif isinstance(value, dt.date):
        value = value.isoformat()
    return {
        "kind": a.kind,
        "fact": a.ref.text if a.ref is not None else None,
        "fn": a.fn,
        "op": a.op,
        "value": value,
        "label": a.label.zh,
        "clause": a.clause,
    }


def rule_diff(old: Rule | None, new: Rule) -> dict[str, Any]:
    """Atoms added, removed and modified (by id) between two rules, and whether the tree
    shape or the amount formula changed."""
    before = {k: _atom_signature(a) for k, a in (old.atoms.items() if old else ())}
    after = {k: _atom_signature(a) for k, a in new.atoms.items()}
    added = [{"id": k, **after[k]} for k in after if k not in before]
    removed = [{"id": k, **before[k]} for k in before if k not in after]
    modified = []
    for k in after:
        if k in before and before[k] != after[k]:
            changes = {
                f: [before[k][f], after[k][f]] for f in after[k] if before[k][f] != after[k][f]
            }
            modified.append({"id": k, "label": after[k]["label"], "changes": changes})
    old_amount = (old.raw.get("amount") if old else None) or None
    new_amount = new.raw.get("amount") or None
    return {
        "against": None,
        "added": added,
        "removed": removed,
        "modified": modified,
        "amount_changed": old_amount != new_amount,
    }


def _diff_for(item: PolicyItem, rule: Rule) -> dict[str, Any]:
    base = item.published_version
    from yiwang.policies.matching import rule_of

    old = rule_of(base) if base is not None else None
    d = rule_diff(old, rule)
    d["against"] = base.number if base is not None else None
    return d


# --- documents ----------------------------------------------------------------------------------
def _clean_dates(
    errors: Errors,
    *,
    issued_on: Any,
    effective_from: Any,
    effective_to: Any,
) -> None:
    for name, v, required in (
        ("issued_on", issued_on, True),
        ("effective_from", effective_from, True),
        ("effective_to", effective_to, False),
    ):
        if v is None:
            if required:
                errors.add(name, _("This field is required."))
        elif not isinstance(v, dt.date):
            errors.add(name, _("Enter a date."))
    if (
        isinstance(effective_from, dt.date)
        and isinstance(effective_to, dt.date)
        and effective_to < effective_from
    ):
        errors.add("effective_to", _("The end date is before the start date."))


def _division(code: str, errors: Errors) -> Division | None:
    div = Division.objects.filter(code=code).order_by("-release").first() if code else None
    if div is None:
        errors.add("region_code", _("Unknown division code."))
    return div


def create_document(
    actor: Any,
    *,
    title: str,
    doc_number: str = "",
    issuer_names: str = "",
    issuers: Iterable[Department] = (),
    issued_on: dt.date | None,
    effective_from: dt.date | None,
    effective_to: dt.date | None = None,
    region_code: str,
    source_url: str = "",
    full_text: str = "",
    interpretation: str = "",
    synthetic: bool = False,
) -> PolicyDocument:
    _require(actor, Cap.POLICY_EDIT)
    errors = Errors()
    title = (title or "").strip()
    if not title:
        errors.add("title", _("This field is required."))
    elif len(title) > 300:
        errors.add("title", _("At most 300 characters."))
    if len(doc_number or "") > 100:
        errors.add("doc_number", _("At most 100 characters."))
    if source_url and not re.match(r"^https?://", source_url):
        errors.add("source_url", _("Enter an http(s) address."))
    _clean_dates(
        errors, issued_on=issued_on, effective_from=effective_from, effective_to=effective_to
    )
    region = _division(region_code, errors)
    if actor is not None and region is not None:
        div = selectors.territory(actor)
        if div is None or not (
            region.prefix.startswith(div.prefix) or div.prefix.startswith(region.prefix)
        ):
            errors.add("region_code", _("The region is outside your territory."))
    issuer_list = list(issuers)
    errors.raise_if_any()
    assert issued_on is not None and effective_from is not None and region is not None
    with transaction.atomic():
        doc = PolicyDocument.objects.create(
            title=title,
            doc_number=(doc_number or "").strip(),
            issuer_names=(issuer_names or "").strip()[:300],
            issued_on=issued_on,
            effective_from=effective_from,
            effective_to=effective_to,
            region=region,
            source_url=source_url,
            full_text=full_text or "",
            interpretation=interpretation or "",
            created_by=actor,
            synthetic=synthetic,
        )
        if issuer_list:
            doc.issuers.set(issuer_list)
        audit.record(
            "policies.document_created",
            actor=actor,
            obj=doc,
            detail={"title": title, "doc_number": doc.doc_number},
        )
    return doc


DOCUMENT_FIELDS = (
    "title",
    "doc_number",
    "issuer_names",
    "issued_on",
    "effective_from",
    "effective_to",
    "source_url",
    "full_text",
    "interpretation",
)


def update_document(actor: Any, document: PolicyDocument, **changes: Any) -> PolicyDocument:
    _require(actor, Cap.POLICY_EDIT)
    errors = Errors()
    unknown = set(changes) - set(DOCUMENT_FIELDS)
    for k in sorted(unknown):
        errors.add(k, _("This field cannot be changed."))
    values = {f: changes.get(f, getattr(document, f)) for f in DOCUMENT_FIELDS}
    if not (values["title"] or "").strip():
        errors.add("title", _("This field is required."))
    _clean_dates(
        errors,
        issued_on=values["issued_on"],
        effective_from=values["effective_from"],
        effective_to=values["effective_to"],
    )
    errors.raise_if_any()
    with transaction.atomic():
        changed = [
            f for f in DOCUMENT_FIELDS if f in changes and getattr(document, f) != changes[f]
        ]
        for f in changed:
            setattr(document, f, changes[f])
        document.save()
        audit.record("policies.document_updated", actor=actor, obj=document, fields=changed)
    return document


ATTACHMENT_TYPES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ofd", ".wps", ".txt", ".zip")
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def add_attachment(
    actor: Any, document: PolicyDocument, *, name: str, content: bytes
) -> PolicyAttachment:
    """Attach a file (申报指南, 表格) to a document; its SHA-256 and size are kept."""
    import hashlib

    from django.core.files.base import ContentFile

    _require(actor, Cap.POLICY_EDIT)
    errors = Errors()
    name = (name or "").strip().replace("/", "_").replace("\\", "_")[:200]
    if not name:
        errors.add("name", _("This field is required."))
    elif not name.lower().endswith(ATTACHMENT_TYPES):
        errors.add("file", _("Attach PDF, OFD, Word, Excel, WPS, text or ZIP files."))
    if not content:
        errors.add("file", _("The file is empty."))
    elif len(content) > MAX_ATTACHMENT_BYTES:
        errors.add("file", _("A file must be at most 20 MB."))
    errors.raise_if_any()
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        att = PolicyAttachment(document=document, name=name, sha256=digest, size=len(content))
        att.file.save(f"{digest[:16]}-{name}", ContentFile(content), save=False)
        att.save()
        audit.record(
            "policies.attachment_added",
            actor=actor,
            obj=document,
            detail={"name": name, "sha256": digest, "size": len(content)},
        )
    return att


# --- items --------------------------------------------------------------------------------------
def _clean_window(errors: Errors, opens_on: Any, closes_on: Any, *, past_ok: bool = False) -> None:
    for name, v in (("opens_on", opens_on), ("closes_on", closes_on)):
        if v is not None and not isinstance(v, dt.date):
            errors.add(name, _("Enter a date."))
    if isinstance(closes_on, dt.date):
        if not past_ok and closes_on < _today():
            errors.add("closes_on", _("The deadline is in the past."))
        if isinstance(opens_on, dt.date) and closes_on < opens_on:
            errors.add("closes_on", _("The deadline is before the opening date."))


def create_item(
    actor: Any,
    document: PolicyDocument,
    *,
    code: str,
    title: str,
    benefit_type: str,
    target: str = Target.ENTERPRISE,
    department: Department,
    summary: str = "",
    rule: Mapping[str, Any],
    opens_on: dt.date | None = None,
    closes_on: dt.date | None = None,
    no_application: bool = False,
    synthetic: bool = False,
) -> PolicyItem:
    """A new item in draft with its rule as version 1 (checked against the catalog)."""
    _require(actor, Cap.POLICY_EDIT)
    errors = Errors()
    code = (code or "").strip()
    if not CODE_RE.match(code):
        errors.add("code", _("Lower-case letters, digits and hyphens, 2 to 80 characters."))
    elif PolicyItem.objects.filter(code=code).exists():
        errors.add("code", _("This code is taken."))
    title = (title or "").strip()
    if not title:
        errors.add("title", _("This field is required."))
    elif len(title) > 300:
        errors.add("title", _("At most 300 characters."))
    if benefit_type not in BenefitType.values:
        errors.add("benefit_type", _("Choose one of the listed values."))
    if target not in Target.values:
        errors.add("target", _("Choose one of the listed values."))
    if department is None:
        errors.add("department", _("This field is required."))
    elif actor is not None:
        div = selectors.territory(actor)
        if div is None or not department.division.prefix.startswith(div.prefix):
            errors.add("department", _("The department is outside your territory."))
    _clean_window(errors, opens_on, closes_on)
    parsed = check_rule(rule, code, errors)
    errors.raise_if_any()
    assert parsed is not None
    with transaction.atomic():
        item = PolicyItem.objects.create(
            document=document,
            code=code,
            title=title,
            benefit_type=benefit_type,
            target=target,
            department=department,
            summary=summary or "",
            opens_on=opens_on,
            closes_on=closes_on,
            no_application=no_application,
            status=ItemStatus.DRAFT,
            created_by=actor,
            synthetic=synthetic,
        )
        v = PolicyItemVersion.objects.create(
            item=item,
            number=1,
            rule=normalise_rule(rule, code, title),
            status=VersionStatus.DRAFT,
            created_by=actor,
            diff=_diff_for(item, parsed),
        )
        audit.record(
            "policies.item_created",
            actor=actor,
            obj=item,
            detail={"code": code, "version": v.number, "atoms": len(parsed.atoms)},
        )
    return item


ITEM_FIELDS = (
    "title",
    "benefit_type",
    "target",
    "summary",
    "opens_on",
    "closes_on",
    "no_application",
)


def update_item(actor: Any, item: PolicyItem, **changes: Any) -> PolicyItem:
    """Change an item's descriptive fields and window (the rule changes through versions)."""
    _require(actor, Cap.POLICY_EDIT)
    errors = Errors()
    for k in sorted(set(changes) - set(ITEM_FIELDS)):
        errors.add(k, _("This field cannot be changed."))
    if item.status in (ItemStatus.WITHDRAWN, ItemStatus.EXPIRED):
        raise Conflict(_("A withdrawn or expired item cannot be changed."))
    if "title" in changes and not (changes["title"] or "").strip():
        errors.add("title", _("This field is required."))
    if "benefit_type" in changes and changes["benefit_type"] not in BenefitType.values:
        errors.add("benefit_type", _("Choose one of the listed values."))
    if "target" in changes and changes["target"] not in Target.values:
        errors.add("target", _("Choose one of the listed values."))
    opens_on = changes.get("opens_on", item.opens_on)
    closes_on = changes.get("closes_on", item.closes_on)
    if "opens_on" in changes or "closes_on" in changes:
        _clean_window(errors, opens_on, closes_on)
    errors.raise_if_any()
    with transaction.atomic():
        changed = [f for f in ITEM_FIELDS if f in changes and getattr(item, f) != changes[f]]
        for f in changed:
            setattr(item, f, changes[f])
        item.save()
        audit.record("policies.item_updated", actor=actor, obj=item, fields=changed)
    return item


def _latest(item: PolicyItem, *, lock: bool = False) -> PolicyItemVersion:
    qs = PolicyItemVersion.objects.filter(item=item)
    if lock:
        qs = qs.select_for_update()
    v = qs.order_by("-number").first()
    if v is None:
        raise NotFound()
    return v


def update_rule(actor: Any, item: PolicyItem, rule: Mapping[str, Any]) -> PolicyItemVersion:
    """Change the item's conditions: the draft is edited in place; after publication (or a
    rejection) a new draft version is made. Its diff is against the published version."""
    _require(actor, Cap.POLICY_EDIT)
    if item.status in (ItemStatus.WITHDRAWN, ItemStatus.EXPIRED):
        raise Conflict(_("A withdrawn or expired item cannot be changed."))
    errors = Errors()
    parsed = check_rule(rule, item.code, errors)
    errors.raise_if_any()
    assert parsed is not None
    with transaction.atomic():
        latest = _latest(item, lock=True)
        if latest.status == VersionStatus.REVIEW:
            raise Conflict(_("This version is in review; wait for the decision first."))
        diff = _diff_for(item, parsed)
        stored = normalise_rule(rule, item.code, item.title)
        if latest.status == VersionStatus.DRAFT:
            latest.rule, latest.diff = stored, diff
            latest.save(update_fields=["rule", "diff"])
            v = latest
        else:
            v = PolicyItemVersion.objects.create(
                item=item,
                number=latest.number + 1,
                rule=stored,
                status=VersionStatus.DRAFT,
                created_by=actor,
                diff=diff,
            )
        audit.record(
            "policies.rule_changed",
            actor=actor,
            obj=item,
            detail={
                "version": v.number,
                "added": [a["id"] for a in diff["added"]],
                "removed": [a["id"] for a in diff["removed"]],
                "modified": [a["id"] for a in diff["modified"]],
            },
        )
    return v


def submit_for_review(actor: Any, item: PolicyItem) -> PolicyItemVersion:
    """The maker hands the latest draft to a checker."""
    _require(actor, Cap.POLICY_EDIT)
    if item.status in (ItemStatus.WITHDRAWN, ItemStatus.EXPIRED):
        raise Conflict(_("A withdrawn or expired item cannot be changed."))
    errors = Errors()
    _clean_window(errors, item.opens_on, item.closes_on)
    errors.raise_if_any()
    with transaction.atomic():
        v = _latest(item, lock=True)
        if v.status != VersionStatus.DRAFT:
            raise Conflict(_("Only a draft can be submitted for review."))
        check_rule(v.rule, item.code, errors)
        errors.raise_if_any()
        v.status = VersionStatus.REVIEW
        v.submitted_by = actor
        v.submitted_at = timezone.now()
        v.save(update_fields=["status", "submitted_by", "submitted_at"])
        if item.published_version_id is None:
            item.status = ItemStatus.REVIEW
            item.save(update_fields=["status", "updated_at"])
        audit.record("policies.submitted", actor=actor, obj=item, detail={"version": v.number})
    return v


def _checker(actor: Any, v: PolicyItemVersion) -> None:
    """Maker–checker: the reviewer holds ``policies.review`` and neither wrote nor submitted
    the version."""
    if actor is None:
        raise Forbidden(_("A second person must approve."))
    if not actor.can(Cap.POLICY_REVIEW):
        raise Forbidden()
    if actor.pk in (v.submitted_by_id, v.created_by_id):
        raise Forbidden(
            _("The author or submitter of a version cannot review it; a second person must.")
        )


def approve(actor: Any, item: PolicyItem, note: str = "") -> PolicyItemVersion:
    """Publish the version in review. Matching and delivery run after commit."""
    errors = Errors()
    with transaction.atomic():
        v = _latest(item, lock=True)
        if v.status != VersionStatus.REVIEW:
            raise Conflict(_("There is no version in review."))
        _checker(actor, v)
        item = PolicyItem.objects.select_for_update().get(pk=item.pk)
        if item.status in (ItemStatus.WITHDRAWN, ItemStatus.EXPIRED):
            raise Conflict(_("A withdrawn or expired item cannot be published."))
        _clean_window(errors, item.opens_on, item.closes_on)
        check_rule(v.rule, item.code, errors)
        errors.raise_if_any()
        now = timezone.now()
        previous = item.published_version
        if previous is not None:
            previous.status = VersionStatus.SUPERSEDED
            previous.save(update_fields=["status"])
        v.status = VersionStatus.PUBLISHED
        v.reviewed_by = actor
        v.reviewed_at = now
        v.review_note = (note or "").strip()[:2000]
        v.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        item.status = ItemStatus.PUBLISHED
        item.published_version = v
        item.published_at = now
        item.save(update_fields=["status", "published_version", "published_at", "updated_at"])
        audit.record(
            "policies.published",
            actor=actor,
            obj=item,
            detail={
                "version": v.number,
                "previous": previous.number if previous else None,
                "submitted_by": v.submitted_by_id,
            },
        )
        events.publish(PUBLISHED, {"item": item.pk, "version": v.pk})
    return v


def reject(actor: Any, item: PolicyItem, reason: str) -> PolicyItemVersion:
    """The checker sends the version back with a reason; the published version (if any)
    stays in force."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("Give a reason.")]})
    with transaction.atomic():
        v = _latest(item, lock=True)
        if v.status != VersionStatus.REVIEW:
            raise Conflict(_("There is no version in review."))
        _checker(actor, v)
        v.status = VersionStatus.REJECTED
        v.reviewed_by = actor
        v.reviewed_at = timezone.now()
        v.review_note = reason[:2000]
        v.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        if item.published_version_id is None:
            item.status = ItemStatus.DRAFT
            item.save(update_fields=["status", "updated_at"])
        audit.record(
            "policies.rejected",
            actor=actor,
            obj=item,
            detail={"version": v.number, "reason": reason[:200]},
        )
    return v


def withdraw(actor: Any, item: PolicyItem, reason: str) -> PolicyItem:
    """Take an item off the library (needs ``policies.review``); its stored matches go, the
    inbox entries already delivered stay as history."""
    _require(actor, Cap.POLICY_REVIEW)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("Give a reason.")]})
    with transaction.atomic():
        item = PolicyItem.objects.select_for_update().get(pk=item.pk)
        if item.status == ItemStatus.WITHDRAWN:
            raise Conflict(_("The item is already withdrawn."))
        before = item.status
        item.status = ItemStatus.WITHDRAWN
        item.save(update_fields=["status", "updated_at"])
        PolicyItemVersion.objects.filter(item=item, status=VersionStatus.REVIEW).update(
            status=VersionStatus.REJECTED, review_note=reason[:2000]
        )
        removed, _n = PolicyMatch.objects.filter(item=item).delete()
        audit.record(
            "policies.withdrawn",
            actor=actor,
            obj=item,
            detail={"from": before, "reason": reason[:200], "matches_removed": removed},
        )
    return item


def expire_due(now: dt.datetime | None = None) -> int:
    """Published items whose deadline has passed become expired (scheduled daily)."""
    day = timezone.localdate(now) if now is not None else _today()
    with transaction.atomic():
        due = list(
            PolicyItem.objects.select_for_update()
            .filter(status=ItemStatus.PUBLISHED, closes_on__lt=day)
            .values_list("pk", flat=True)
        )
        if not due:
            return 0
        PolicyItem.objects.filter(pk__in=due).update(
            status=ItemStatus.EXPIRED, updated_at=timezone.now()
        )
        audit.append_many(
            [
                audit.Entry(
                    event="policies.expired",
                    object_type="policies.policyitem",
                    object_id=str(pk),
                    detail={"on": day.isoformat()},
                )
                for pk in due
            ]
        )
    return len(due)


# --- enterprise facts ---------------------------------------------------------------------------
def _fact_error(e: FactError, field: str = "value") -> ValidationFailed:
    return ValidationFailed(fields={field: [str(p) for p in e.problems]})


def _own(actor: Any, org: Organisation) -> None:
    mine = selectors.enterprise_for(actor)
    if mine is None or mine.pk != org.pk:
        raise NotFound()


def _clean(name: str, value: Any, period: str) -> tuple[str, str, Any]:
    if not name or name not in profile.catalog():
        raise ValidationFailed(fields={"name": [_("Unknown fact: %(name)s") % {"name": name}]})
    try:
        return profile.clean_fact(name, value, period)
    except FactError as e:
        field = "period" if any("period" in p.message for p in e.problems) else "value"
        raise _fact_error(e, field) from e


def declare_fact(
    actor: Any, org: Organisation, name: str, value: Any, period: str = ""
) -> EnterpriseFact:
    """The enterprise supplies a fact government does not hold (marked self-declared). A fact
    with an official value cannot be declared over; ask for a correction instead."""
    _own(actor, org)
    name, period, stored = _clean(name, value, period)
    key = profile.fact_key(name, period)
    if key in profile.official_keys(org):
        raise ValidationFailed(
            fields={
                "name": [
                    _("An official value exists for %(fact)s; request a correction instead.")
                    % {"fact": key}
                ]
            }
        )
    with transaction.atomic():
        fact, created = EnterpriseFact.objects.update_or_create(
            organisation=org,
            name=name,
            period=period,
            defaults={
                "value": stored,
                "source": SELF_DECLARED_SOURCE,
                "source_kind": SourceKind.SELF_DECLARED,
                "as_of": _today(),
                "declared_by": actor,
            },
        )
        audit.record(
            "policies.fact_declared",
            actor=actor,
            obj=org,
            subject_id=f"organisation:{org.pk}",
            fields=[key],
            detail={"fact": key, "created": created},
        )
        events.publish(PROFILE_CHANGED, {"organisation": org.pk, "facts": [key]})
    return fact


def set_facts(
    actor: Any,
    org: Organisation,
    values: Mapping[str, Any],
    *,
    source: str,
    source_kind: str = SourceKind.DATASET,
    as_of: dt.date | None = None,
    notify: bool = True,
) -> list[EnterpriseFact]:
    """Official facts from a dataset (exchange, demo seed): ``{"revenue@FY2024": 1200}``.

    All are checked first (nothing is saved when one is wrong); one audit record and one
    ``policies.profile_changed`` event for the lot (unless ``notify`` is off, for seeding).
    """
    if source_kind not in SourceKind.values:
        raise ValidationFailed(fields={"source_kind": [_("Choose one of the listed values.")]})
    if not (source or "").strip():
        raise ValidationFailed(fields={"source": [_("This field is required.")]})
    cleaned: list[tuple[str, str, Any]] = []
    errors = Errors()
    for key, value in values.items():
        name, _sep, period = str(key).partition("@")
        try:
            cleaned.append(_clean(name, value, period))
        except ValidationFailed as e:
            for msgs in e.fields.values():
                for m in msgs:
                    errors.add(str(key), m)
    errors.raise_if_any()
    day = as_of or _today()
    out = []
    with transaction.atomic():
        for name, period, stored in cleaned:
            fact, _c = EnterpriseFact.objects.update_or_create(
                organisation=org,
                name=name,
                period=period,
                defaults={
                    "value": stored,
                    "source": source.strip()[:200],
                    "source_kind": source_kind,
                    "as_of": day,
                    "declared_by": None,
                },
            )
            out.append(fact)
        keys = [profile.fact_key(n, p) for n, p, _v in cleaned]
        audit.record(
            "policies.facts_set",
            actor=actor,
            obj=org,
            subject_id=f"organisation:{org.pk}",
            fields=keys,
            detail={"source": source[:100], "source_kind": source_kind, "count": len(keys)},
        )
        if notify and keys:
            events.publish(PROFILE_CHANGED, {"organisation": org.pk, "facts": keys})
    return out


def set_fact(
    actor: Any,
    org: Organisation,
    name: str,
    value: Any,
    *,
    period: str = "",
    source: str,
    source_kind: str = SourceKind.DATASET,
    as_of: dt.date | None = None,
    notify: bool = True,
) -> EnterpriseFact:
    key = profile.fact_key(name, period)
    try:
        facts = set_facts(
            actor,
            org,
            {key: value},
            source=source,
            source_kind=source_kind,
            as_of=as_of,
            notify=notify,
        )
    except ValidationFailed as e:
        if key in e.fields:
            field = "period" if "period" in " ".join(e.fields[key]) else "value"
            raise ValidationFailed(fields={field: e.fields[key]}) from e
        raise
    return facts[0]


def request_correction(
    actor: Any, org: Organisation, name: str, value: Any, reason: str, period: str = ""
) -> FactCorrection:
    """The enterprise asks for an official fact to be corrected, with a reason."""
    _own(actor, org)
    errors = Errors()
    reason = (reason or "").strip()
    if not reason:
        errors.add("reason", _("Give a reason."))
    try:
        name, period, stored = _clean(name, value, period)
    except ValidationFailed as e:
        for k, msgs in e.fields.items():
            for m in msgs:
                errors.add(k, m)
    errors.raise_if_any()
    if FactCorrection.objects.filter(
        organisation=org, name=name, period=period, status=CorrectionStatus.OPEN
    ).exists():
        raise ValidationFailed(
            fields={"name": [_("A correction of this fact is already waiting for a decision.")]}
        )
    with transaction.atomic():
        c = FactCorrection.objects.create(
            organisation=org,
            name=name,
            period=period,
            value=stored,
            reason=reason[:2000],
            requested_by=actor,
        )
        audit.record(
            "policies.correction_requested",
            actor=actor,
            obj=c,
            subject_id=f"organisation:{org.pk}",
            fields=[profile.fact_key(name, period)],
        )
    return c


def decide_correction(
    actor: Any, correction: FactCorrection, *, accept: bool, note: str = ""
) -> FactCorrection:
    """Staff (``policies.matches``, the enterprise in their territory) accept — the value
    becomes the official fact — or reject with a note."""
    _require(actor, Cap.POLICY_MATCHES)
    note = (note or "").strip()
    if not accept and not note:
        raise ValidationFailed(fields={"note": [_("Give a reason.")]})
    with transaction.atomic():
        c = FactCorrection.objects.select_for_update().get(pk=correction.pk)
        if c.status != CorrectionStatus.OPEN:
            raise Conflict(_("This request has been decided already."))
        c.status = CorrectionStatus.ACCEPTED if accept else CorrectionStatus.REJECTED
        c.decided_by = actor
        c.decided_at = timezone.now()
        c.note = note[:2000]
        c.save(update_fields=["status", "decided_by", "decided_at", "note"])
        if accept:
            dept = getattr(getattr(actor, "department", None), "name", "") if actor else ""
            set_fact(
                actor,
                c.organisation,
                c.name,
                c.value,
                period=c.period,
                source=f"更正申请#{c.pk}（{dept or '核实'}）",
                source_kind=SourceKind.DATASET,
            )
        audit.record(
            "policies.correction_decided",
            actor=actor,
            obj=c,
            subject_id=f"organisation:{c.organisation_id}",
            detail={"accepted": accept},
        )
    return c


# --- inbox --------------------------------------------------------------------------------------
def mark_read(actor: Any, delivery: PolicyDelivery) -> PolicyDelivery:
    _own(actor, delivery.organisation)
    if delivery.read_at is None:
        with transaction.atomic():
            delivery.read_at = timezone.now()
            delivery.save(update_fields=["read_at"])
            audit.record("policies.delivery_read", actor=actor, obj=delivery)
    return delivery


def set_preference(
    actor: Any,
    org: Organisation,
    *,
    push: bool | None = None,
    email: bool | None = None,
    sms: bool | None = None,
) -> PolicyPreference:
    """Opt in or out of policy delivery (inbox and email/SMS)."""
    _own(actor, org)
    with transaction.atomic():
        pref, _c = PolicyPreference.objects.get_or_create(organisation=org)
        changed = []
        for name, v in (("push", push), ("email", email), ("sms", sms)):
            if v is not None and getattr(pref, name) != v:
                setattr(pref, name, bool(v))
                changed.append(name)
        pref.save()
        audit.record(
            "policies.preference_set",
            actor=actor,
            obj=org,
            fields=changed,
            detail={"push": pref.push, "email": pref.email, "sms": pref.sms},
        )
    return pref


__all__ = [
    "add_attachment",
    "approve",
    "create_document",
    "create_item",
    "decide_correction",
    "declare_fact",
    "expire_due",
    "mark_read",
    "reject",
    "request_correction",
    "set_fact",
    "set_facts",
    "set_preference",
    "submit_for_review",
    "update_document",
    "update_item",
    "update_rule",
    "withdraw",
]
