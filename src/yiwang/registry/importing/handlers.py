"""Per-entity row cleaning for imports: the same rules as the per-row actions in
``registry.actions``, applied to text cells, plus what an import needs on top (references by
code, natural keys, the fields the file actually carries).

A handler turns one row of text cells into an ``Item``: the values to store, the natural key,
and the errors (field, message). Nothing here touches the database except the small
``prepare`` (code tables) and ``resolve`` (one query per batch for referenced codes) steps.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from django.db.models import Model
from django.utils import translation
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric

from yiwang.accounts.models import Department
from yiwang.core.ids import validate_credit_code, validate_resident_id
from yiwang.core.personal import normalize_phone
from yiwang.grid.coords import CoordSystem
from yiwang.registry.importing.schema import SCHEMAS, Schema
from yiwang.registry.models import Organisation, Person, Place, Tag, Thing, parent_kind_error

SPLIT_TAGS = re.compile(r"[,，、;；|\s]+")
COORD_SYSTEMS = {c.value for c in CoordSystem}


@dataclass(slots=True)
class Item:
    row: int
    key: str = ""
    shown_key: str = ""  # the key as the report may show it (masked for ID numbers)
    values: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # field -> referenced code
    coords: tuple[float, float, str] | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    status: str = ""  # accepted | updated | unchanged | refused
    pk: int | None = None
    changes: dict[str, list[Any]] | None = None
    sealed: dict[str, str] | None = None  # encrypted values, when sealed ahead
    #: the "created" history entry as JSON text, prepared ahead for the fields in ``shown``
    history_json: str | None = None
    shown: tuple[str, ...] = ()
    #: accepted or updated, and in no grid afterwards (no location): the report warns
    no_grid: bool = False

    def as_tuple(self) -> tuple[Any, ...]:
        """For sending between processes: a tuple pickles much faster than the object."""
        return _ITEM_GETTER(self)

    def refuse(self, field_name: str, message: str) -> None:
        self.errors.append((field_name, str(message)))


ITEM_FIELDS = tuple(Item.__slots__)
_ITEM_GETTER = operator.attrgetter(*ITEM_FIELDS)


def choice_lookup(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Accept a choice by its value or its label in English or Simplified Chinese."""
    out: dict[str, str] = {}
    pairs = list(choices)
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            for value, label in pairs:
                out[str(label).strip().lower()] = value
    for value, _label in pairs:
        out[str(value).lower()] = value
    return out


def mask_key(value: str) -> str:
    from yiwang.core.masking import mask_id_number

    return mask_id_number(value)


_BIRTH_DATES: dict[str, dt.date | None] = {}


def _birth_date(digits: str) -> dt.date | None:
    """``YYYYMMDD`` → date through stdnum (memoised: a file holds ~30,000 distinct days)."""
    if digits in _BIRTH_DATES:
        return _BIRTH_DATES[digits]
    try:
        birth: dt.date | None = ric.get_birth_date("000000" + digits + "0000")
    except stdnum_exc.ValidationError:
        birth = None
    if len(_BIRTH_DATES) < 100_000:
        _BIRTH_DATES[digits] = birth
    return birth


def check_resident_id(raw: str) -> tuple[str, Any, str, str]:
    """``(compact, birth date, sex, error)`` — the decision ``core.ids.validate_resident_id``
    makes, on a fast path for well-formed numbers.

    The fast path checks what stdnum's ``cn.ric.validate`` checks — length, digits, the check
    character (``ric.calc_check_digit``) and the birth date (``ric.get_birth_date``) — but
    skips its region lookup (~50 µs): an unknown region only produces a warning in
    ``validate_resident_id`` (people keep IDs of districts that no longer exist), so it cannot
    change the decision. Any number the fast path does not accept goes through
    ``validate_resident_id`` for its exact message.
    """
    compact = raw.upper() if len(raw) == 18 and raw.isascii() else ric.compact(raw) if raw else ""
    if (
        len(compact) == 18
        and compact[:17].isdigit()
        and compact[:17].isascii()
        and compact[17] == ric.calc_check_digit(compact)
    ):
        birth = _birth_date(compact[6:14])
        if birth is not None:
            return compact, birth, "M" if int(compact[16]) % 2 == 1 else "F", ""
    chk = validate_resident_id(raw)
    if chk.valid:  # not reached for stdnum's current rules; kept for safety
        return chk.value, chk.birth_date, chk.sex, ""
    return "", None, "", chk.error


class Handler:
    """Cleaning rules for one entity type."""

    entity_type: ClassVar[str]
    model: ClassVar[type[Model]]
    #: model attnames compared to decide updated vs unchanged (besides coordinates)
    compare: ClassVar[tuple[str, ...]]
    #: reference fields: file field -> (model attname, what it references)
    ref_fields: ClassVar[dict[str, str]] = {}
    coords_required: ClassVar[bool] = False

    def __init__(self) -> None:
        self.schema: Schema = SCHEMAS[self.entity_type]
        self.present: set[str] = set()

    def prepare(self, present: set[str]) -> None:
        self.present = set(present)

    # --- per row ------------------------------------------------------------------------
    def clean(self, item: Item, cells: dict[str, str]) -> None:
        raise NotImplementedError

    def clean_coords(self, item: Item, cells: dict[str, str]) -> None:
        lng, lat = cells.get("lng", "").strip(), cells.get("lat", "").strip()
        system = (cells.get("coord_system", "").strip() or CoordSystem.WGS84).lower()
        if not lng and not lat:
            if self.coords_required:
                item.refuse("lat", _("A city part needs coordinates."))
            return
        try:
            x, y = float(lng), float(lat)
        except ValueError:
            item.refuse("lng", _("Longitude and latitude must both be numbers."))
            return
        if system not in COORD_SYSTEMS:
            item.refuse("coord_system", _("Use wgs84, gcj02 or bd09."))
            return
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            item.refuse("lat", _("Coordinates out of range."))
            return
        item.coords = (x, y, system)

    # --- per batch ----------------------------------------------------------------------
    def resolve(self, items: Sequence[Item], batch_codes: dict[str, dict[str, Any]]) -> None:
        """Turn referenced codes into ids (and coordinates to inherit)."""

    def lookup_keys(self, items: Sequence[Item]) -> dict[str, Item]:
        """The value stored in the natural-key column for each item (blind index or code)."""
        return {it.values[self.key_attname]: it for it in items}

    key_attname: ClassVar[str]

    #: whether ``prepare`` needs no database, so cleaning can run in worker processes
    parallel_safe: ClassVar[bool] = False

    def fill_new(self, item: Item) -> None:
        """Defaults for a new row when the file has no column for them."""

    def seal_ahead(self, items: Sequence[Item]) -> None:
        """Encrypt what a new row will store (worker processes do it before the lookup)."""

    def after_assign(self, items: Sequence[Item], batch_codes: dict[str, dict[str, Any]]) -> None:
        """Checks that need every row's grid (after ``resolve`` and grid assignment)."""


def _text(cells: dict[str, str], name: str, limit: int) -> str:
    return cells.get(name, "").strip()[:limit]


def place_refs(codes: set[str], extra: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    codes = {c for c in codes if c}
    for c in list(codes):
        if c in extra:
            found[c] = extra[c]
    rest = [c for c in codes if c not in found]
    for i in range(0, len(rest), 900):
        for pk, code, lng, lat, grid_id, kind in Place.objects.filter(
            code__in=rest[i : i + 900]
        ).values_list("pk", "code", "lng", "lat", "grid_id", "kind"):
            found[code] = {"pk": pk, "lng": lng, "lat": lat, "grid_id": grid_id, "kind": kind}
    return found


class PersonHandler(Handler):
    entity_type = "person"
    model = Person
    parallel_safe = True
    key_attname = "id_number_index"
    compare = (
        "name",
        "phone_index",
        "sex",
        "birth_date",
        "household_no",
        "home_id",
        "tags",
    )

    def prepare(self, present: set[str]) -> None:
        super().prepare(present)
        from yiwang.registry.importing.sealing import FastSealer

        self.sealer = FastSealer()
        self.id_purpose = Person._meta.get_field("id_number_index").index_purpose()
        self.phone_purpose = Person._meta.get_field("phone_index").index_purpose()
        self.tags = choice_lookup(Tag.choices)
        self.has_phone = "phone" in present
        self.has_household = "household_no" in present
        self.has_tags = "tags" in present
        self.has_home = "home" in present

    def clean(self, item: Item, cells: dict[str, str]) -> None:
        v = item.values
        raw_id = cells.get("id_number", "").strip()
        compact, birth, sex, error = check_resident_id(raw_id)
        if error:
            item.refuse("id_number", error)
            item.shown_key = mask_key(raw_id)
        else:
            item.key = compact
            item.shown_key = mask_key(compact)
            v["id_number"] = compact
            v["id_number_index"] = self.sealer.blind_index(self.id_purpose, compact)
            v["sex"] = sex
            v["birth_date"] = birth
        name = cells.get("name", "").strip()
        if not name:
            item.refuse("name", _("A name is required."))
        elif len(name) > 50:
            item.refuse("name", _("A name has at most 50 characters."))
        v["name"] = name
        if self.has_phone:
            phone = normalize_phone(cells.get("phone", ""))
            if phone and (len(phone) != 11 or phone[0] != "1"):
                item.refuse("phone", _("A mobile number has 11 digits and starts with 1."))
            v["phone"] = phone
            v["phone_index"] = self.sealer.blind_index(self.phone_purpose, phone) if phone else ""
        if self.has_household:
            v["household_no"] = _text(cells, "household_no", 40)
        if self.has_tags:
            raw = cells.get("tags", "").strip()
            tags: set[str] = set()
            if raw:
                for t in SPLIT_TAGS.split(raw):
                    if not t:
                        continue
                    value = self.tags.get(t.lower())
                    if value is None:
                        item.refuse("tags", _("Unknown tags: %(tags)s") % {"tags": t})
                    else:
                        tags.add(value)
            v["tags"] = sorted(tags)
        if self.has_home:
            item.refs["home"] = cells.get("home", "").strip()
        self.clean_coords(item, cells)

    def seal_ahead(self, items: Sequence[Item]) -> None:
        """Encrypt, and prepare the "created" history entry from the fields known before the
        database is asked (references and the grid are added by the importing process)."""
        import json

        from yiwang.registry.history import HISTORY_FIELDS
        from yiwang.registry.importing.shown import shower

        if not hasattr(self, "_show"):
            self._show = [
                (f, shower(Person, f))
                for f in HISTORY_FIELDS["person"]
                if f not in ("home_id", "grid_id")
            ]
            self._shown = tuple(f for f, _ in self._show)
        show, shown = self._show, self._shown
        good = [it for it in items if not it.errors]
        self.seal_items(good)
        for it in good:
            v = it.values
            changes = {}
            for f, sh in show:
                x = v.get(f)
                if x is not None:
                    changes[f] = [None, sh(x)]
            it.history_json = json.dumps(changes, ensure_ascii=False)
            it.shown = shown  # one shared tuple: pickled once per batch

    def seal_items(self, items: Sequence[Item]) -> None:
        """``item.sealed``: the ID number and phone encrypted, a batch at a time."""
        plain: list[str] = []
        for it in items:
            v = it.values
            if v.get("id_number"):
                plain.append(v["id_number"])
            if v.get("phone"):
                plain.append(v["phone"])
        sealed = iter(self.sealer.seal_many(plain))
        for it in items:
            v = it.values
            it.sealed = {
                "id_number": next(sealed) if v.get("id_number") else "",
                "phone": next(sealed) if v.get("phone") else "",
            }

    def resolve(self, items: Sequence[Item], batch_codes: dict[str, dict[str, Any]]) -> None:
        if not self.has_home:
            return
        homes = place_refs({it.refs.get("home", "") for it in items}, batch_codes)
        for it in items:
            code = it.refs.get("home", "")
            if not code:
                it.values["home_id"] = None
                continue
            ref = homes.get(code)
            if ref is None:
                it.refuse("home", _("Unknown place %(code)s.") % {"code": code})
                continue
            it.values["home_id"] = ref["pk"]
            if it.coords is None and ref["lng"] is not None:
                it.coords = (ref["lng"], ref["lat"], "inherit")


class PlaceHandler(Handler):
    entity_type = "place"
    model = Place
    key_attname = "code"
    compare = ("kind", "name", "parent_id", "address")

    def prepare(self, present: set[str]) -> None:
        super().prepare(present)
        self.kinds = choice_lookup(Place.Kind.choices)

    def clean(self, item: Item, cells: dict[str, str]) -> None:
        v = item.values
        code = cells.get("code", "").strip()
        if not code:
            item.refuse("code", _("A place code is required."))
        elif len(code) > 40:
            item.refuse("code", _("A place code has at most 40 characters."))
        item.key = item.shown_key = code
        v["code"] = code
        if "kind" in self.present:
            raw = cells.get("kind", "").strip()
            kind = self.kinds.get(raw.lower()) if raw else Place.Kind.ADDRESS
            if kind is None:
                item.refuse("kind", _("Unknown kind of place."))
            v["kind"] = kind or Place.Kind.ADDRESS
        name = cells.get("name", "").strip()
        if not name:
            item.refuse("name", _("A name is required."))
        v["name"] = name[:200]
        if "address" in self.present:
            v["address"] = _text(cells, "address", 300)
        if "parent" in self.present:
            parent = cells.get("parent", "").strip()
            if parent and parent == code:
                item.refuse("parent", _("A place cannot be its own parent."))
            item.refs["parent"] = parent
        self.clean_coords(item, cells)

    def fill_new(self, item: Item) -> None:
        item.values.setdefault("kind", Place.Kind.ADDRESS)

    def resolve(self, items: Sequence[Item], batch_codes: dict[str, dict[str, Any]]) -> None:
        """Parents may be earlier rows of the same batch, so resolve in row order; each place
        is registered (code -> id, coordinates) as soon as it is resolved. ``batch_codes``
        also receives them (a dry run keeps them there, as nothing reaches the database)."""
        if "parent" not in self.present:
            return
        own = {it.key for it in items}
        wanted = {it.refs.get("parent", "") for it in items} - {""}
        known = place_refs(wanted - own, batch_codes)
        local: dict[str, dict[str, Any]] = {}
        for it in items:
            code = it.refs.get("parent", "")
            if code:
                ref = local.get(code) or known.get(code)
                if ref is None:
                    it.refuse(
                        "parent",
                        _("Unknown parent place %(code)s (a parent must exist or come earlier).")
                        % {"code": code},
                    )
                    continue
                wrong = parent_kind_error(it.values.get("kind"), ref.get("kind"))
                if wrong:
                    it.refuse("parent", wrong)
                    continue
                it.values["parent_id"] = ref["pk"]
                if it.coords is None and ref["lng"] is not None:
                    it.coords = (ref["lng"], ref["lat"], "inherit")
            else:
                it.values["parent_id"] = None
            lng, lat = it.values.get("lng"), it.values.get("lat")
            if lng is None and it.coords is not None:
                lng, lat = it.coords[0], it.coords[1]
            local[it.key] = {
                "pk": it.pk,
                "lng": lng,
                "lat": lat,
                "grid_id": None,
                "kind": it.values.get("kind"),
            }
        batch_codes.update(local)

    def after_assign(self, items: Sequence[Item], batch_codes: dict[str, dict[str, Any]]) -> None:
        """A place refused after its parent link was made (say, outside the territory) takes
        its children in this batch with it, and leaves the register of codes."""
        refused: set[int] = set()
        for it in items:
            if it.errors:
                if it.pk is not None:
                    refused.add(it.pk)
                if batch_codes.get(it.key, {}).get("pk") == it.pk:
                    batch_codes.pop(it.key, None)
                continue
            if it.values.get("parent_id") in refused:
                it.refuse("parent", _("The parent place was refused."))
                refused.add(it.pk or 0)
                batch_codes.pop(it.key, None)


class ThingHandler(Handler):
    entity_type = "thing"
    model = Thing
    key_attname = "part_code"
    compare = ("class_code", "name", "status", "owner_department_id")
    coords_required = True

    def prepare(self, present: set[str]) -> None:
        super().prepare(present)
        self.statuses = choice_lookup(Thing.Status.choices)
        self.departments: dict[str, int] = {}
        from yiwang.registry.codes import PartClasses

        self.part_classes = PartClasses()

    def clean(self, item: Item, cells: dict[str, str]) -> None:
        v = item.values
        part_code = cells.get("part_code", "").strip()
        if len(part_code) != 17 or not part_code.isdigit() or not part_code.isascii():
            item.refuse("part_code", _("A part identifier has 17 digits."))
        item.key = item.shown_key = part_code
        v["part_code"] = part_code
        class_code = cells.get("class_code", "").strip() or part_code[6:11]
        if len(class_code) != 5 or not class_code.isdigit():
            item.refuse("class_code", _("A part class code has 5 digits."))
        elif part_code[6:11] != class_code:
            item.refuse(
                "class_code", _("The class code must match digits 7–11 of the part identifier.")
            )
        else:
            unknown = self.part_classes.error(class_code)
            if unknown:
                item.refuse("class_code", unknown)
        v["class_code"] = class_code
        if "name" in self.present:
            v["name"] = (cells.get("name", "").strip() or class_code)[:100]
        if "status" in self.present:
            raw = cells.get("status", "").strip()
            status = self.statuses.get(raw.lower()) if raw else Thing.Status.NORMAL
            if status is None:
                item.refuse("status", _("Unknown status."))
            v["status"] = status or Thing.Status.NORMAL
        if "owner_department" in self.present:
            item.refs["owner_department"] = cells.get("owner_department", "").strip()
        self.clean_coords(item, cells)

    def fill_new(self, item: Item) -> None:
        item.values.setdefault("name", item.values["class_code"][:100])

    def resolve(self, items: Sequence[Item], batch_codes: dict[str, dict[str, Any]]) -> None:
        if "owner_department" not in self.present:
            return
        codes = {it.refs.get("owner_department", "") for it in items} - {""}
        missing = [c for c in codes if c not in self.departments]
        if missing:
            self.departments.update(
                Department.objects.filter(code__in=missing).values_list("code", "pk")
            )
        for it in items:
            code = it.refs.get("owner_department", "")
            if not code:
                it.values["owner_department_id"] = None
            elif code in self.departments:
                it.values["owner_department_id"] = self.departments[code]
            else:
                it.refuse("owner_department", _("Unknown department."))


class OrganisationHandler(Handler):
    entity_type = "organisation"
    model = Organisation
    key_attname = "credit_code"
    compare = (
        "kind",
        "name",
        "industry_code",
        "size_class",
        "registered_address",
        "founded_on",
        "registered_capital",
        "legal_representative",
        "status",
        "place_id",
    )

    def prepare(self, present: set[str]) -> None:
        super().prepare(present)
        from yiwang.core.models import IndustryCode

        self.industries = set(
            IndustryCode.objects.filter(version__table="gbt4754").values_list("code", flat=True)
        )
        self.kinds = choice_lookup(Organisation.Kind.choices)
        self.sizes = choice_lookup(Organisation.Size.choices)
        self.statuses = choice_lookup(Organisation.Status.choices)

    def clean(self, item: Item, cells: dict[str, str]) -> None:
        v = item.values
        raw = cells.get("credit_code", "").strip()
        chk = validate_credit_code(raw)
        if not chk.valid:
            item.refuse("credit_code", chk.error)
        item.key = item.shown_key = chk.value if chk.valid else raw.upper()
        v["credit_code"] = item.key
        name = cells.get("name", "").strip()
        if not name:
            item.refuse("name", _("A name is required."))
        v["name"] = name[:200]
        for f, table, default, msg in (
            ("kind", self.kinds, Organisation.Kind.ENTERPRISE, _("Unknown kind of organisation.")),
            ("size_class", self.sizes, "", _("Use large, medium, small or micro.")),
            ("status", self.statuses, Organisation.Status.ACTIVE, _("Unknown status.")),
        ):
            if f not in self.present:
                continue
            text = cells.get(f, "").strip()
            value = table.get(text.lower()) if text else default
            if value is None:
                item.refuse(f, msg)
            v[f] = value or default
        if "industry_code" in self.present:
            industry = cells.get("industry_code", "").strip().upper()
            if industry and industry not in self.industries:
                item.refuse("industry_code", _("Unknown GB/T 4754 industry code."))
            v["industry_code"] = industry
        if "registered_address" in self.present:
            v["registered_address"] = _text(cells, "registered_address", 300)
        if "legal_representative" in self.present:
            v["legal_representative"] = _text(cells, "legal_representative", 50)
        if "founded_on" in self.present:
            text = cells.get("founded_on", "").strip()
            founded = None
            if text:
                try:
                    founded = dt.date.fromisoformat(text[:10].replace("/", "-"))
                except ValueError:
                    item.refuse("founded_on", _("Use a date like 2024-05-31."))
            v["founded_on"] = founded
        if "registered_capital" in self.present:
            text = cells.get("registered_capital", "").strip().replace(",", "")
            capital = None
            if text:
                try:
                    capital = Decimal(text).quantize(Decimal("0.01"))
                    if not capital.is_finite() or abs(capital) >= Decimal(10) ** 12:
                        raise InvalidOperation
                except InvalidOperation:
                    item.refuse(
                        "registered_capital", _("Registered capital is a number in 10k yuan.")
                    )
                    capital = None
            v["registered_capital"] = capital
        if "place" in self.present:
            item.refs["place"] = cells.get("place", "").strip()
        self.clean_coords(item, cells)

    def resolve(self, items: Sequence[Item], batch_codes: dict[str, dict[str, Any]]) -> None:
        if "place" not in self.present:
            return
        places = place_refs({it.refs.get("place", "") for it in items}, batch_codes)
        for it in items:
            code = it.refs.get("place", "")
            if not code:
                it.values["place_id"] = None
                continue
            ref = places.get(code)
            if ref is None:
                it.refuse("place", _("Unknown place %(code)s.") % {"code": code})
                continue
            it.values["place_id"] = ref["pk"]
            # As a person takes their home's location and a place its parent's.
            if it.coords is None and ref["lng"] is not None:
                it.coords = (ref["lng"], ref["lat"], "inherit")


HANDLERS: dict[str, type[Handler]] = {
    "person": PersonHandler,
    "place": PlaceHandler,
    "thing": ThingHandler,
    "organisation": OrganisationHandler,
}
