"""The fast path for importing people: compact rows instead of ``Item`` objects.

Residents are the million-row import. The general path (``runner.Importer`` over ``Item``
objects with a dict of values each) is kept for every other entity type and for anything
unusual; this module handles the common case with plain tuples, in two halves:

- ``prepare`` (worker processes, or the importing process): cleans a batch of rows with the
  same rules as ``PersonHandler.clean`` — a row it cannot vouch for on its fast checks goes
  through ``PersonHandler.clean`` itself, so every refusal carries the general path's exact
  messages — converts coordinates to WGS84, computes the blind indexes, seals ID numbers
  and phones a batch at a time and prepares the "created" history entry. Good rows come
  back as ``Row`` tuples, refused rows as ``Item`` tuples.
- ``process`` (the importing process): refuses duplicates, looks existing rows up, assigns
  grids, and writes new rows and their history straight from the tuples. A batch in which
  an existing row changed (an update, with its diff and history) is handed to the general
  path as ``Item`` objects (``to_items``), so updates are computed in one place only.

Either way the database, the history and the report end up exactly as the general path
leaves them (``tests/test_import_fast.py`` imports the same files both ways and compares).
The fast path is used for people whose file has no ``home`` column (references to places
need the database, and inherited coordinates); ``FAST`` turns it off.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from django.utils.translation import gettext as _
from stdnum.cn import ric

from yiwang.core.masking import mask_id_number
from yiwang.registry.importing.handlers import (
    COORD_SYSTEMS,
    SPLIT_TAGS,
    Item,
    PersonHandler,
    _birth_date,
)

#: Set to False to send every person import through the general path (tests compare both).
FAST = True

#: History fields of a person the worker shows (``home_id`` and ``grid_id`` come later).
WORKER_HISTORY = ("name", "id_number", "phone", "sex", "birth_date", "household_no", "tags")


class Row(NamedTuple):
    """A good row of a people file, cleaned, sealed and shown (all a new row needs but its
    primary key and grid)."""

    row: int
    key: str  # the compact ID number
    shown_key: str
    id_index: str
    name: str
    phone: str | None  # None: the file has no phone column
    phone_index: str | None
    sex: str
    birth_date: str  # ISO; the database adapters write dates as ISO text too
    household_no: str | None
    tags: list[str] | None
    lng: float | None
    lat: float | None
    coord_system: str | None
    sealed_id: str
    sealed_phone: str
    history: str  # JSON text of the "created" entry without home and grid


def applies(handler: Any) -> bool:
    return FAST and isinstance(handler, PersonHandler) and not handler.has_home


# --- JSON exactly as ``json.dumps(…, ensure_ascii=False)`` writes it --------------------------
_encode_str: Callable[[str], str] = json.encoder.encode_basestring


def encode(value: Any) -> str:
    t = type(value)
    if t is str:
        return _encode_str(value)
    if t is int:
        return int.__repr__(value)
    if t is float and value == value and value not in (float("inf"), float("-inf")):
        return float.__repr__(value)
    return json.dumps(value, ensure_ascii=False)


def entry(pairs: Sequence[tuple[str, Any]]) -> str:
    """``json.dumps({k: [None, v], …}, ensure_ascii=False)`` for the created history entry."""
    return "{" + ", ".join(f"{_encode_str(k)}: [null, {encode(v)}]" for k, v in pairs) + "}"


# --- worker side ----------------------------------------------------------------------------
class Preparer:
    """Cleans batches of people rows (``PersonHandler`` prepared for the file's columns)."""

    def __init__(self, handler: PersonHandler, index: dict[str, int]) -> None:
        from yiwang.registry.history import HISTORY_FIELDS

        self.h = handler
        self.index = index
        self.width = max(index.values()) + 1 if index else 0
        g = index.get
        self.i_id, self.i_name = g("id_number", -1), g("name", -1)
        self.i_phone, self.i_household = g("phone", -1), g("household_no", -1)
        self.i_tags, self.i_lng, self.i_lat = g("tags", -1), g("lng", -1), g("lat", -1)
        self.i_system = g("coord_system", -1)
        hist = HISTORY_FIELDS["person"]
        # Field order of the general path's created entry: HISTORY_FIELDS without home and grid.
        self.order = [f for f in hist if f not in ("home_id", "grid_id")]
        self.entry = self._entry_maker()

    def fast_row(self, n: int, cells: list[str]) -> tuple[Any, ...] | None:
        """The row's cleaned values, or None when it needs the general path (a refusal, or a
        form the fast checks do not cover)."""
        h = self.h
        raw = cells[self.i_id].strip()
        if len(raw) != 18 or not raw.isascii():
            return None
        compact = raw.upper()
        if not compact[:17].isdigit() or compact[17] != ric.calc_check_digit(compact):
            return None
        birth = _birth_date(compact[6:14])
        if birth is None:
            return None
        name = cells[self.i_name].strip()
        if not name or len(name) > 50:
            return None
        phone = None
        if self.i_phone >= 0:
            phone = cells[self.i_phone].strip()
            if phone and not (
                len(phone) == 11 and phone.isdigit() and phone.isascii() and phone[0] == "1"
            ):
                return None
        household = cells[self.i_household].strip()[:40] if self.i_household >= 0 else None
        tags = None
        if self.i_tags >= 0:
            raw_tags = cells[self.i_tags].strip()
            found: set[str] = set()
            if raw_tags:
                for t in SPLIT_TAGS.split(raw_tags):
                    if not t:
                        continue
                    value = h.tags.get(t.lower())
                    if value is None:
                        return None
                    found.add(value)
            tags = sorted(found)
        lng = lat = system = None
        sx = cells[self.i_lng].strip() if self.i_lng >= 0 else ""
        sy = cells[self.i_lat].strip() if self.i_lat >= 0 else ""
        if sx or sy:
            try:
                lng, lat = float(sx), float(sy)
            except ValueError:
                return None
            system = (
                (cells[self.i_system].strip() if self.i_system >= 0 else "") or "wgs84"
            ).lower()
            if system not in COORD_SYSTEMS or not (-180 <= lng <= 180 and -90 <= lat <= 90):
                return None
        sex = "M" if int(compact[16]) % 2 == 1 else "F"
        return (n, compact, name, phone, household, tags, lng, lat, system, sex, birth)

    def prepare(
        self, rows: Sequence[tuple[int, list[str]]]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """``(good rows as plain tuples, refused rows as Item tuples)`` for a batch, in file
        order each (``Row._make`` turns a tuple into a ``Row``)."""
        from yiwang.registry.importing.runner import prepare_rows

        h = self.h
        width = self.width
        fast: list[tuple[Any, ...]] = []
        slow: list[tuple[int, list[str]]] = []
        fast_row = self.fast_row
        for n, cells in rows:
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            if any("\ufffd" in c for c in cells):
                slow.append((n, cells))
                continue
            r = fast_row(n, cells)
            if r is None:
                slow.append((n, cells))
            else:
                fast.append(r)
        refused: list[tuple[Any, ...]] = []
        if slow:
            for it in prepare_rows(h, slow, self.index, seal=False):
                if it.errors:
                    refused.append(it.as_tuple())
                else:  # a form the fast checks leave to the general rules, but good
                    v = it.values
                    fast.append(
                        (
                            it.row,
                            v["id_number"],
                            v["name"],
                            v.get("phone"),
                            v.get("household_no"),
                            v.get("tags"),
                            v.get("lng"),
                            v.get("lat"),
                            v.get("coord_system"),
                            v["sex"],
                            v["birth_date"],
                            True,  # coordinates already WGS84
                        )
                    )
            fast.sort(key=lambda r: r[0])
        return self.finish(fast), refused

    def _entry_maker(self) -> Callable[..., str]:
        """``make(name, shown_id, phone, sex, birth, household, tags, lng, lat)``: the created
        entry's JSON text as the general path writes it (``json.dumps`` of the fields in
        ``HISTORY_FIELDS`` order without home and grid, each shown as ``registry.history``
        shows it), as one expression built once per file."""
        from yiwang.core.personal import pi_class_of
        from yiwang.registry.history import MASK_BY_FIELD
        from yiwang.registry.models import Person

        h = self.h
        ns: dict[str, Any] = {"enc": encode, "s": _encode_str, "rnd": round}
        present = {
            "phone": h.has_phone,
            "household_no": h.has_household,
            "tags": h.has_tags,
        }
        args = ("name", "id_number", "phone", "sex", "birth_date", "household_no", "tags")
        head: list[str] = []  # pieces of an f-string
        for f in self.order:
            if f in ("lng", "lat") or not present.get(f, True):
                continue
            key = _encode_str(f)
            if f == "id_number":  # already masked: the report's shown key
                value = "{s(shown_id)}"
            elif pi_class_of(Person._meta.get_field(f)) is None:
                value = "{enc(" + f + ")}"
            elif f in MASK_BY_FIELD:
                ns["m_" + f] = MASK_BY_FIELD[f]
                value = "{s(m_" + f + "(" + f + "))}"
            else:
                value = _encode_str("***").replace("{", "{{").replace("}", "}}")
            head.append(f"{key}: [null, {value}]")
        where = ", ".join(head)
        loc = []
        for f in ("lng", "lat"):
            if f in self.order:
                if pi_class_of(Person._meta.get_field(f)) is None:
                    loc.append(f"{_encode_str(f)}: [null, {{enc({f})}}]")
                else:
                    loc.append(f"{_encode_str(f)}: [null, {{float.__repr__(rnd({f}, 3))}}]")
        located = ", ".join(loc)
        params = ", ".join(a for a in args if a != "id_number")
        code = (
            f"lambda {params}, shown_id, lng, lat: "
            f"f'{{{{{where}}}}}' if lng is None else f'{{{{{where}, {located}}}}}'"
        )
        made: Any = eval(code, ns)  # noqa: S307 - built from the model's own field names
        return made  # type: ignore[no-any-return]

    def finish(self, fast: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Coordinates to WGS84, blind indexes, sealing and the history entry; ``Row``s as
        plain tuples (they pickle faster)."""
        from yiwang.grid.coords import to_wgs84

        if not fast:
            return []
        h = self.h
        n = len(fast)
        lngs: list[float | None] = [r[6] for r in fast]
        lats: list[float | None] = [r[7] for r in fast]
        by_system: dict[str, list[int]] = {}
        for i, r in enumerate(fast):
            if r[8] is not None and r[8] != "wgs84" and len(r) == 11:
                by_system.setdefault(r[8], []).append(i)
        for system, idx in by_system.items():
            wx, wy = to_wgs84(
                np.array([lngs[i] for i in idx], dtype=np.float64),
                np.array([lats[i] for i in idx], dtype=np.float64),
                system,
            )
            for i, x, y in zip(idx, wx.tolist(), wy.tolist(), strict=True):
                lngs[i], lats[i] = x, y
        blind = h.sealer.blind_index
        id_purpose, phone_purpose = h.id_purpose, h.phone_purpose
        plain = [r[1] for r in fast]
        if h.has_phone:
            plain += [r[3] for r in fast if r[3]]
        sealed = h.sealer.seal_many(plain)
        sealed_phones = iter(sealed[n:])
        make_entry = self.entry
        mask = mask_id_number
        out: list[tuple[Any, ...]] = []
        append = out.append
        for i, r in enumerate(fast):
            row, key, name, phone, household, tags, _x, _y, system, sex, birth = r[:11]
            lng = lngs[i]
            lat = lats[i]
            shown_id = mask(key)
            append(
                (
                    row,
                    key,
                    shown_id,
                    blind(id_purpose, key),
                    name,
                    phone,
                    (blind(phone_purpose, phone) if phone else "") if phone is not None else None,
                    sex,
                    birth.isoformat(),
                    household,
                    tags,
                    lng,
                    lat,
                    system if lng is not None else None,
                    sealed[i],
                    next(sealed_phones) if phone else "",
                    make_entry(name, phone, sex, birth, household, tags, shown_id, lng, lat),
                )
            )
        return out


_PREPARERS: dict[int, Preparer] = {}


def preparer(handler: PersonHandler, index: dict[str, int]) -> Preparer:
    p = _PREPARERS.get(id(handler))
    if p is None or p.h is not handler or p.index != index:
        p = _PREPARERS[id(handler)] = Preparer(handler, index)
    return p


# --- importing process ----------------------------------------------------------------------
def to_item(r: Row, shown: tuple[str, ...]) -> Item:
    """The ``Item`` the general path would have made of this row (for a batch it takes over)."""
    import datetime as dt

    v: dict[str, Any] = {
        "id_number": r.key,
        "id_number_index": r.id_index,
        "sex": r.sex,
        "birth_date": dt.date.fromisoformat(r.birth_date),
        "name": r.name,
    }
    if r.phone is not None:
        v["phone"] = r.phone
        v["phone_index"] = r.phone_index
    if r.household_no is not None:
        v["household_no"] = r.household_no
    if r.tags is not None:
        v["tags"] = r.tags
    coords = None
    if r.lng is not None:
        v["lng"], v["lat"], v["coord_system"] = r.lng, r.lat, r.coord_system
        coords = (r.lng, r.lat or 0.0, r.coord_system or "wgs84")
    return Item(
        r.row,
        r.key,
        r.shown_key,
        v,
        {},
        coords,
        [],
        "",
        None,
        None,
        {"id_number": r.sealed_id, "phone": r.sealed_phone},
        r.history,
        shown,
    )


class Writer:
    """The importing process's half for one import: ``batch`` stores a batch of ``Row``s."""

    def __init__(self, imp: Any) -> None:
        from yiwang.registry.history import HISTORY_FIELDS
        from yiwang.registry.models import Person

        self.imp = imp
        h = imp.handler
        self.h = h
        self.shown = tuple(f for f in HISTORY_FIELDS["person"] if f not in ("home_id", "grid_id"))
        self.key_header = h.schema.column(h.schema.key).header
        self.make_row = self._row_maker(Person, imp)

    def _row_maker(self, model: Any, imp: Any) -> Callable[..., tuple[Any, ...]]:
        """``make(r, pk, grid_id, now)``: the row ``RowMaker`` makes of the general path's
        values for a new person, built straight from a ``Row``."""
        h = self.h
        base = imp.row_maker({})  # every column's default, JSON already encoded
        ns: dict[str, Any] = {"base": base, "tags_json": _tags_json, "source": imp.source}
        i = Row._fields.index
        located = f"r[{i('lng')}] is not None"
        parts = []
        for n, f in enumerate(imp.fields):
            a = f.attname
            src = {
                "id": "pk",
                "name": f"r[{i('name')}]",
                "id_number": f"r[{i('sealed_id')}]",
                "id_number_index": f"r[{i('id_index')}]",
                "phone": f"r[{i('sealed_phone')}]",
                "sex": f"r[{i('sex')}]",
                "birth_date": f"r[{i('birth_date')}]",
                "source": "source",
                "grid_id": "gid",
                "lng": f"r[{i('lng')}]",
                "lat": f"r[{i('lat')}]",
                "coord_system": f"(r[{i('coord_system')}] if {located} else base[{n}])",
            }.get(a)
            if a == "updated_at" and "updated_at" in imp.defaults:
                src = "now"
            if a == "phone_index" and h.has_phone:
                src = f"r[{i('phone_index')}]"
            if a == "household_no" and h.has_household:
                src = f"r[{i('household_no')}]"
            if a == "tags" and h.has_tags:
                src = f"tags_json(r[{i('tags')}])"
            parts.append(src or f"base[{n}]")
        code = "lambda r, pk, gid, now: (" + ", ".join(parts) + ",)"
        made: Any = eval(code, ns)  # noqa: S307 - built from the model's own field names
        return made  # type: ignore[no-any-return]

    def batch(
        self, good: list[Row], refused: list[Item], now: Any
    ) -> tuple[int, int, list[Item], int, list[Item]] | None:
        """Store a batch (inside the caller's transaction): ``(accepted, unchanged, refused
        items, accepted rows in no grid, their warning items)`` — warning items only when
        the territory has grids (``ReportWriter``) — or None, having written nothing, when an
        existing row changed (the general path takes the batch over)."""
        from yiwang.registry.importing import writing

        imp = self.imp
        found = imp.existing_keys([r.id_index for r in good]) if imp.lookup and good else {}
        # Grids, as Importer.inherit_and_assign.
        located = [r for r in good if r.lng is not None]
        gid_of: dict[int, int | None] = {}
        refusals: dict[int, tuple[str, str]] = {}
        if located:
            gids = imp.index.assign(
                np.fromiter((r.lng for r in located), np.float64, len(located)),
                np.fromiter((r.lat for r in located), np.float64, len(located)),
            ).tolist()
            has_grids = bool(imp.index.geoms)
            allowed = imp.allowed
            outside = _("The location is outside the territory's grids.")
            elsewhere = _("The location is in a grid outside your area.")
            for r, gid in zip(located, gids, strict=True):
                if gid < 0:
                    if has_grids:
                        refusals[r.row] = ("lat", outside)
                    else:
                        gid_of[r.row] = None
                elif allowed is not None and gid not in allowed:
                    refusals[r.row] = ("lat", elsewhere)
                else:
                    gid_of[r.row] = gid
        # Existing rows, as Importer.classify: unchanged, refused, or (general path) changed.
        unchanged = 0
        if found:
            h = self.h
            has_phone, has_household, has_tags = h.has_phone, h.has_household, h.has_tags
            not_yours = _("The existing record is in a grid outside your area.")
            for r in good:
                old = found.get(r.id_index)
                if old is None or r.row in refusals:
                    continue
                if (
                    imp.allowed is not None
                    and old["grid_id"] is not None
                    and old["grid_id"] not in imp.allowed
                ):
                    refusals[r.row] = (h.schema.key, not_yours)
                    continue
                bd = old["birth_date"]
                if (
                    old["name"] != r.name
                    or old["sex"] != r.sex
                    or (bd.isoformat() if bd is not None else None) != r.birth_date
                    or (has_phone and old["phone_index"] != r.phone_index)
                    or (has_household and old["household_no"] != r.household_no)
                    or (has_tags and old["tags"] != r.tags)
                    or (
                        r.lng is not None
                        and (
                            old["lng"] != r.lng
                            or old["lat"] != r.lat
                            or old["coord_system"] != r.coord_system
                            or old["grid_id"] != gid_of.get(r.row)
                        )
                    )
                ):
                    return None
                unchanged += 1
        # Primary keys for every row not found, as Importer.process (before the grid refusals).
        new = [r for r in good if r.id_index not in found]
        if imp.dry_run:
            pks = list(range(imp.fake_pk - 1, imp.fake_pk - 1 - len(new), -1))
            imp.fake_pk -= len(new)
        else:
            pks = writing.allocate_ids(imp.model, len(new))
        rows: list[tuple[Any, ...]] = []
        history: list[tuple[int, str, dict[str, Any] | str]] = []
        make = self.make_row
        # Accepted rows left in no grid (no coordinates): counted, and warned about in the
        # report when the territory has grids — one check on the branch already taken.
        gridless: list[Row] = []
        for r, pk in zip(new, pks, strict=True):
            if r.row in refusals:
                continue
            gid = gid_of.get(r.row)
            rows.append(make(r, pk, gid, now))
            if gid is None:
                gridless.append(r)
                history.append((pk, "created", r.history))
            else:
                history.append((pk, "created", f'{r.history[:-1]}, "grid_id": [null, {gid}]}}'))
        if not imp.dry_run:
            writing.insert_rows(imp.model, rows)
            writing.insert_history("person", history, actor=imp.actor_name, source=imp.source)
        out = list(refused)
        if refusals:
            for r in good:
                ref = refusals.get(r.row)
                if ref is not None:
                    it = Item(r.row, r.key, r.shown_key)
                    it.refuse(*ref)
                    out.append(it)
            out.sort(key=lambda it: it.row)
        for it in out:
            it.status = "refused"
        warned: list[Item] = []
        if gridless and imp.index.geoms:
            for r in gridless:
                it = Item(r.row, r.key, r.shown_key, status="accepted")
                it.no_grid = True
                warned.append(it)
        return len(rows), unchanged, out, len(gridless), warned


def _tags_json(v: list[str]) -> str:
    return "[]" if v == [] else json.dumps(v, ensure_ascii=False)
