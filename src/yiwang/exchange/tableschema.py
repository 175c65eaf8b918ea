"""Frictionless Table Schema: checking a dataset's schema and reading rows against it.

Rows are streamed through ``frictionless`` so type, constraint, primary-key and uniqueness
errors come from the library; the error report names the row, the field and the error type
but never the cell's value (it may be personal data).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import frictionless
from django.utils.translation import gettext as _

from yiwang.core.errors import ValidationFailed
from yiwang.core.masking import MASKERS

SENSITIVITIES = ("public", "internal", "pi", "spi")
FIELD_TYPES = (
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "datetime",
    "time",
    "year",
    "yearmonth",
    "object",
    "array",
    "geopoint",
    "any",
)
MAX_REPORTED_ERRORS = 1000


CODE_TABLE_CHECKS = ("report", "reject")


def check_schema(
    descriptor: Any, elements: dict[str, Any], tables: set[str] | None = None
) -> frictionless.Schema:
    """Validate a Table Schema descriptor with frictionless plus the platform's properties.

    ``elements`` maps data-element codes to objects with a ``type``; ``tables`` is the set of
    known code-table ids (``yiwang.core.codetables.known_tables``) that a field's
    ``codeTable`` may name. Raises ``ValidationFailed`` naming
    ``schema.fields.<name>.<property>``.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("fields"), list):
        raise ValidationFailed(fields={"schema": [_("A table schema needs a list of fields.")]})
    if not descriptor["fields"]:
        raise ValidationFailed(fields={"schema": [_("A table schema needs at least one field.")]})
    try:
        meta_errors = frictionless.Schema.metadata_validate(descriptor)
        problems = [e.message for e in meta_errors]
    except Exception as exc:  # a descriptor too broken to inspect
        problems = [str(exc)]
    if problems:
        errors["schema"] = problems[:10]
    names: list[str] = []
    for f in descriptor["fields"]:
        if not isinstance(f, dict) or not f.get("name"):
            errors.setdefault("schema.fields", []).append(_("Every field needs a name."))
            continue
        name = str(f["name"])
        key = f"schema.fields.{name}"
        if name in names:
            errors.setdefault(key, []).append(_("Field names must be unique."))
        names.append(name)
        if f.get("type", "string") not in FIELD_TYPES:
            errors.setdefault(f"{key}.type", []).append(_("Unknown field type."))
        level = f.get("sensitivity")
        if level not in SENSITIVITIES:
            errors.setdefault(f"{key}.sensitivity", []).append(
                _("Give a sensitivity level: public, internal, pi or spi.")
            )
        mask = f.get("mask")
        if mask and mask not in MASKERS:
            errors.setdefault(f"{key}.mask", []).append(_("Unknown masking kind."))
        code = f.get("element")
        if code:
            el = elements.get(code)
            if el is None:
                errors.setdefault(f"{key}.element", []).append(
                    _("No such data element in the standards library.")
                )
            elif el.type != f.get("type", "string"):
                errors.setdefault(f"{key}.element", []).append(
                    _("The field's type differs from its data element's type.")
                )
        ref = f.get("codeTable")
        if ref is not None:
            from yiwang.core.codetables import parse_ref

            if not isinstance(ref, str) or not ref.strip():
                errors.setdefault(f"{key}.codeTable", []).append(
                    _("Name a code table, e.g. gbt2261.1 or GB/T 4754.")
                )
            elif tables is not None and parse_ref(ref)[0] not in tables:
                errors.setdefault(f"{key}.codeTable", []).append(_("No such code table."))
        how = f.get("anonymise")
        if how is not None and how not in ("keep", "drop", "year"):
            errors.setdefault(f"{key}.anonymise", []).append(
                _("Use keep, drop or year (dates only).")
            )
        elif how == "year" and f.get("type") not in ("date", "datetime", "yearmonth"):
            errors.setdefault(f"{key}.anonymise", []).append(
                _("Only a date can be cut to its year.")
            )
        check = f.get("codeTableCheck")
        if check is not None and check not in CODE_TABLE_CHECKS:
            errors.setdefault(f"{key}.codeTableCheck", []).append(
                _("Use report (keep the row, count it in data quality) or reject.")
            )
    pk = descriptor.get("primaryKey")
    pk_list = [pk] if isinstance(pk, str) else list(pk or [])
    if not pk_list:
        errors.setdefault("schema.primaryKey", []).append(_("A primary key is required."))
    for p in pk_list:
        if p not in names:
            errors.setdefault("schema.primaryKey", []).append(
                _("The primary key names a field the schema does not have.")
            )
    if errors:
        raise ValidationFailed(fields=errors)
    return frictionless.Schema.from_descriptor(descriptor)


def jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


@dataclass
class RowError:
    row: int
    field: str
    type: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "type": self.type, "message": self.message}


@dataclass
class ReadResult:
    good: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rejected: int = 0
    total: int = 0


def _error_of(row_number: int, err: Any) -> RowError:
    return RowError(
        row=row_number,
        field=str(getattr(err, "field_name", "") or ""),
        type=str(err.type),
        message=str(getattr(err, "note", "") or err.title),
    )


def _rows(resource: Any, schema: frictionless.Schema, out: ReadResult) -> Iterator[tuple[int, Any]]:
    """Columns are matched to fields by name (``fieldsMatch``); a file lacking a required or
    primary-key column is refused as a whole, other missing and extra columns reported."""
    with resource:
        labels = [str(x) for x in (resource.labels or [])]
        names = schema.field_names
        pk = set(schema.primary_key)
        missing = [n for n in names if n not in labels]
        vital = [n for n in missing if n in pk or schema.get_field(n).constraints.get("required")]
        if vital:
            raise ValidationFailed(
                fields={"file": [_("The file lacks required columns: %s") % ", ".join(vital)]}
            )
        for n in missing:
            out.errors.append(RowError(1, n, "missing-label", _("column not in the file")))
        for n in labels:
            if n not in names:
                out.errors.append(RowError(1, n, "extra-label", _("column ignored")))
        yield from ((row.row_number, row) for row in resource.row_stream)


def _by_name(schema: frictionless.Schema) -> frictionless.Schema:
    """The schema with columns matched to fields by name, in any order (``fieldsMatch``)."""
    return frictionless.Schema.from_descriptor({**schema.to_descriptor(), "fieldsMatch": "subset"})


def read_rows(schema: frictionless.Schema, source: str, content: Any) -> ReadResult:
    """Stream rows of ``content`` (bytes for csv/xlsx/json files, a list of dicts for API
    pushes) through the schema; keep the valid rows typed and report the rest."""
    out = ReadResult()
    tmpdir = None
    extra_rows: set[int] = set()
    try:
        if source == "csv":
            resource = frictionless.Resource(content, format="csv", schema=_by_name(schema))
        elif source == "xlsx":
            tmpdir = tempfile.mkdtemp(prefix="yiwang-xlsx-")
            with open(os.path.join(tmpdir, "upload.xlsx"), "wb") as fh:
                fh.write(content)
            resource = frictionless.Resource(
                path="upload.xlsx", basepath=tmpdir, schema=_by_name(schema)
            )
        else:
            rows = content
            if isinstance(content, (bytes, str)):
                try:
                    rows = json.loads(content)
                except ValueError as exc:
                    raise ValidationFailed(
                        fields={"file": [_("Not valid JSON: %s") % exc]}
                    ) from None
            if isinstance(rows, dict) and isinstance(rows.get("rows"), list):
                rows = rows["rows"]
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise ValidationFailed(fields={"rows": [_("Send a list of objects, one per row.")]})
            if not rows:
                return out
            names = schema.field_names
            data = [names] + [[r.get(n) for n in names] for r in rows]
            for i, r in enumerate(rows, start=2):
                for extra in sorted(set(r) - set(names)):
                    extra_rows.add(i)
                    out.errors.append(
                        RowError(i, str(extra), "extra-cell", _("not a field of the schema"))
                    )
            resource = frictionless.Resource(data=data, schema=schema)
        try:
            keep = set(schema.field_names)
            for number, row in _rows(resource, schema, out):
                out.total += 1
                if row.valid and number not in extra_rows:
                    values = {k: jsonable(v) for k, v in row.to_dict().items() if k in keep}
                    out.good.append((number, values))
                else:
                    out.rejected += 1
                    if len(out.errors) < MAX_REPORTED_ERRORS:
                        out.errors.extend(_error_of(number, e) for e in row.errors)
        except frictionless.FrictionlessException as exc:
            raise ValidationFailed(
                fields={"file": [_("The file could not be read: %s") % exc.error.note]}
            ) from None
    finally:
        if tmpdir:
            for name in os.listdir(tmpdir):
                os.unlink(os.path.join(tmpdir, name))
            os.rmdir(tmpdir)
    return out


def code_table_refs(
    schema_fields: list[dict[str, Any]], elements: dict[str, Any]
) -> dict[str, str]:
    """Field name → the code table its values come from: the field's own ``codeTable`` or
    else its data element's."""
    out: dict[str, str] = {}
    for f in schema_fields:
        ref = f.get("codeTable")
        if not ref:
            el = elements.get(f.get("element", ""))
            ref = getattr(el, "code_table", "") if el is not None else ""
        if ref:
            out[str(f["name"])] = str(ref)
    return out


def check_codes(
    read: ReadResult,
    schema_fields: list[dict[str, Any]],
    elements: dict[str, Any],
    on: dt.date,
) -> None:
    """Check the values of code fields against the table version valid on ``on`` (or the
    pinned one). A field with ``codeTableCheck: reject`` refuses the row (``code-table``);
    otherwise the row is kept and the value reported (``code-table-unknown``), and data
    quality counts it as invalid. A table with no version valid that day is reported once."""
    from yiwang.core import codetables
    from yiwang.core.errors import NotFound

    refs = code_table_refs(schema_fields, elements)
    if not refs or not read.good:
        return
    rejecting = {str(f["name"]) for f in schema_fields if f.get("codeTableCheck") == "reject"}
    tables: dict[str, tuple[str, frozenset[str]] | None] = {}
    for name, ref in refs.items():
        try:
            ver, codes = codetables.members(ref, on=on)
            tables[name] = (f"{codetables.display(ver.table)} ({ver.version})", codes)
        except NotFound as exc:
            tables[name] = None
            read.errors.append(RowError(1, name, "code-table-missing", str(exc.message)))
    kept: list[tuple[int, dict[str, Any]]] = []
    for number, row in read.good:
        refused = False
        for name, found in tables.items():
            value = row.get(name)
            if found is None or value in (None, ""):
                continue
            label, codes = found
            if str(value) in codes:
                continue
            if name in rejecting:
                refused = True
                kind, msg = "code-table", _("not a code of %s") % label
            else:
                kind, msg = "code-table-unknown", _("not a code of %s (row kept)") % label
            if len(read.errors) < MAX_REPORTED_ERRORS:
                read.errors.append(RowError(number, name, kind, msg))
        if refused:
            read.rejected += 1
        else:
            kept.append((number, row))
    read.good = kept
