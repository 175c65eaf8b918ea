"""What each entity type's import file holds: columns, zh-Hans headers, accepted aliases.

A file's header is matched to fields in this order: the caller's explicit mapping
(``{"身份证号": "id_number"}``), then the field name itself, the zh-Hans header, and the
English aliases; case, surrounding spaces, a UTF-8 BOM and a trailing ``*`` (the required-column
mark used in the templates) are ignored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

ENTITY_TYPES = ("person", "place", "thing", "organisation")

#: Accepted spellings of the entity type on the command line and in forms.
TYPE_ALIASES = {
    "person": "person",
    "people": "person",
    "persons": "person",
    "resident": "person",
    "residents": "person",
    "人": "person",
    "人口": "person",
    "place": "place",
    "places": "place",
    "地": "place",
    "thing": "thing",
    "things": "thing",
    "part": "thing",
    "parts": "thing",
    "物": "thing",
    "部件": "thing",
    "organisation": "organisation",
    "organisations": "organisation",
    "organization": "organisation",
    "organizations": "organisation",
    "org": "organisation",
    "orgs": "organisation",
    "组织": "organisation",
    "企业": "organisation",
}

TYPE_LABELS = {
    "person": _("People"),
    "place": _("Places"),
    "thing": _("City parts"),
    "organisation": _("Organisations"),
}


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # zh-Hans header used in the templates
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: object = ""  # a lazy translatable string
    example: str = ""


@dataclass(frozen=True)
class Schema:
    entity_type: str
    key: str  # the natural key's field
    columns: tuple[Column, ...]
    notes: tuple[object, ...] = field(default=())

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.field == name:
                return c
        raise KeyError(name)


_COORDS = (
    Column(
        "lng",
        "经度",
        aliases=("longitude", "lon", "x"),
        help=_("Longitude in decimal degrees"),
        example="120.1234",
    ),
    Column(
        "lat",
        "纬度",
        aliases=("latitude", "y"),
        help=_("Latitude in decimal degrees"),
        example="30.1234",
    ),
    Column(
        "coord_system",
        "坐标系",
        aliases=("coordinate system", "crs", "coord system"),
        help=_("wgs84 (default), gcj02 (AMap, Tencent) or bd09 (Baidu)"),
        example="wgs84",
    ),
)

#: Starts the example names (and the place code) of the templates: unmistakable as data.
EXAMPLE_MARK = "（示例）"

SCHEMAS: dict[str, Schema] = {
    "person": Schema(
        "person",
        "id_number",
        (
            Column("name", "姓名", True, ("full name",), _("Full name"), EXAMPLE_MARK + "王小明"),
            Column(
                "id_number",
                "身份证号",
                True,
                ("id number", "id no", "resident id", "公民身份号码", "身份证号码"),
                _("18-character resident ID (GB 11643); sex and birth date are taken from it"),
                "000000199001010173",
            ),
            Column(
                "phone",
                "手机号",
                False,
                ("mobile", "mobile phone", "phone number", "手机号码", "联系电话"),
                _("11-digit mobile number"),
                "13900001111",
            ),
            Column(
                "household_no",
                "户号",
                False,
                ("household", "household number"),
                _("Household registration number"),
                "H00000001",
            ),
            Column(
                "home",
                "住所编码",
                False,
                ("home", "home place code", "place code", "住址编码"),
                _("Code of the registered place (room) the person lives in"),
                "",
            ),
            Column(
                "tags",
                "关注标签",
                False,
                ("tag",),
                _(
                    "Care and attention tags separated by commas: living_alone_elder, "
                    "disabled, low_income, key_person (or their Chinese labels)"
                ),
                "",
            ),
            *_COORDS,
        ),
    ),
    "place": Schema(
        "place",
        "code",
        (
            Column(
                "code",
                "地点编码",
                True,
                ("place code", "编码"),
                _("Unique place code"),
                EXAMPLE_MARK + "0001",
            ),
            Column(
                "kind",
                "类型",
                False,
                ("type",),
                _("compound, building, unit, room or address (default address)"),
                "building",
            ),
            Column("name", "名称", True, (), _("Name"), EXAMPLE_MARK + "西溪苑1幢"),
            Column(
                "parent",
                "上级地点编码",
                False,
                ("parent code", "parent place code"),
                _("Code of the enclosing place; it must exist or come earlier in the file"),
                "",
            ),
            Column("address", "地址", False, (), _("Street address"), ""),
            *_COORDS,
        ),
    ),
    "thing": Schema(
        "thing",
        "part_code",
        (
            Column(
                "part_code",
                "部件标识码",
                True,
                ("part code", "part identifier", "部件编码", "标识码"),
                _("17-digit city part identifier"),
                "00000001001000001",
            ),
            Column(
                "class_code",
                "部件类别代码",
                False,
                ("class code", "类别代码"),
                _("5-digit class code; digits 7–11 of the identifier when left empty"),
                "01001",
            ),
            Column(
                "name",
                "名称",
                False,
                (),
                _("Name (default: the class code)"),
                EXAMPLE_MARK + "上水井盖",
            ),
            Column(
                "status",
                "状态",
                False,
                (),
                _("normal, damaged, missing or removed (default normal)"),
                "normal",
            ),
            Column(
                "owner_department",
                "权属部门编码",
                False,
                ("owner department", "department code", "权属单位编码"),
                _("Code of the department that owns the part"),
                "",
            ),
            Column("lng", "经度", True, ("longitude", "lon", "x"), _("Longitude"), "120.1234"),
            Column("lat", "纬度", True, ("latitude", "y"), _("Latitude"), "30.1234"),
            _COORDS[2],
        ),
    ),
    "organisation": Schema(
        "organisation",
        "credit_code",
        (
            Column(
                "credit_code",
                "统一社会信用代码",
                True,
                ("credit code", "uscc", "信用代码"),
                _("18-character unified social credit code (GB 32100)"),
                "91000000MA0000000N",
            ),
            Column(
                "name",
                "名称",
                True,
                ("企业名称", "单位名称"),
                _("Registered name"),
                EXAMPLE_MARK + "某某科技有限公司",
            ),
            Column(
                "kind",
                "类型",
                False,
                ("type",),
                _("enterprise or social (default enterprise)"),
                "enterprise",
            ),
            Column(
                "industry_code",
                "行业代码",
                False,
                ("industry", "industry code", "国民经济行业代码"),
                _("GB/T 4754 industry code, e.g. I6510"),
                "I6510",
            ),
            Column(
                "size_class",
                "企业规模",
                False,
                ("size", "规模"),
                _("large, medium, small or micro"),
                "small",
            ),
            Column(
                "registered_address",
                "注册地址",
                False,
                ("registered address", "住所"),
                _("Registered address"),
                "",
            ),
            Column(
                "founded_on",
                "成立日期",
                False,
                ("founded", "founded on", "established"),
                _("Date like 2024-05-31"),
                "2015-06-01",
            ),
            Column(
                "registered_capital",
                "注册资本",
                False,
                ("registered capital", "capital", "注册资本(万元)"),
                _("In 10k yuan"),
                "100",
            ),
            Column(
                "legal_representative",
                "法定代表人",
                False,
                ("legal representative",),
                _("Name of the legal representative"),
                "",
            ),
            Column(
                "status",
                "经营状态",
                False,
                ("状态",),
                _("active, suspended or cancelled (default active)"),
                "active",
            ),
            Column(
                "place",
                "地点编码",
                False,
                ("place code",),
                _("Code of the registered place where it is located"),
                "",
            ),
            *_COORDS,
        ),
    ),
}


def normalize_header(text: object) -> str:
    s = str(text or "").replace("\ufeff", "").strip().rstrip("*").strip().lower()
    return " ".join(s.replace("_", " ").split())


def resolve_type(name: str) -> str | None:
    return TYPE_ALIASES.get((name or "").strip().lower())


class HeaderError(ValueError):
    """The file's header does not give the required columns (or maps a column twice).
    ``field``: what is at fault, for a form or an API answer (``file`` or ``mapping``)."""

    def __init__(self, message: object, field: str = "file") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class HeaderMap:
    """Which file column feeds which field; headers no field claimed are listed as ignored."""

    index: dict[str, int]  # field -> column index
    ignored: list[str]


def match_header(
    schema: Schema, header: Iterable[object], mapping: Mapping[str, str] | None = None
) -> HeaderMap:
    fields = set(schema.fields)
    explicit: dict[str, str] = {}
    for src, dst in (mapping or {}).items():
        if dst not in fields:
            raise HeaderError(
                _("The mapping names an unknown field %(field)s; the fields are: %(fields)s")
                % {"field": dst, "fields": ", ".join(schema.fields)},
                "mapping",
            )
        explicit[normalize_header(src)] = dst
    known: dict[str, str] = {}
    for c in schema.columns:
        for name in (c.field, c.header, *c.aliases):
            known.setdefault(normalize_header(name), c.field)
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, raw in enumerate(header):
        h = normalize_header(raw)
        target = explicit.get(h) or known.get(h)
        if target is None:
            if h:
                ignored.append(str(raw))
            continue
        if target in index:
            raise HeaderError(
                _("Two columns map to the field %(field)s.") % {"field": target},
                "mapping" if target in explicit.values() else "file",
            )
        index[target] = i
    missing = [c for c in schema.columns if c.required and c.field not in index]
    if missing:
        raise HeaderError(
            _("Required columns are missing: %(cols)s")
            % {"cols": ", ".join(f"{c.header} ({c.field})" for c in missing)}
        )
    return HeaderMap(index, ignored)


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``["身份证号=id_number", ...]`` → ``{"身份证号": "id_number"}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        for part in str(pair).replace("\n", ",").split(","):
            if not part.strip():
                continue
            src, sep, dst = part.partition("=")
            if not sep or not src.strip() or not dst.strip():
                raise HeaderError(
                    _("Write a mapping as file column=field, e.g. 身份证号=id_number."), "mapping"
                )
            out[src.strip()] = dst.strip()
    return out


# --- Templates --------------------------------------------------------------------------------
def template_headers(entity_type: str) -> list[str]:
    return [c.header + ("*" if c.required else "") for c in SCHEMAS[entity_type].columns]


def example_note() -> str:
    return str(
        _(
            "Row 2 is an example. Left unchanged it is skipped on import (the report lists it "
            "as skipped); overwrite it or delete it."
        )
    )


def template_csv(entity_type: str) -> bytes:
    """The header row and one example row, UTF-8 with BOM so Excel opens it as Unicode.
    The example row is marked (names start with ``EXAMPLE_MARK``, keys are not real ones)
    and, left unchanged, skipped by the import (``runner.example_cells``)."""
    schema = SCHEMAS[entity_type]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(template_headers(entity_type))
    w.writerow([c.example for c in schema.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def template_xlsx(entity_type: str) -> bytes:
    """An XLSX with the header row (text-formatted columns, so IDs keep every digit) and a
    second sheet describing each column."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    schema = SCHEMAS[entity_type]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = str(TYPE_LABELS[entity_type])
    ws.append(template_headers(entity_type))
    ws.append([c.example for c in schema.columns])
    for i, c in enumerate(schema.columns, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        ws.column_dimensions[letter].width = max(12, len(c.header) * 2 + 4)
        ws.column_dimensions[letter].number_format = "@"  # text: IDs keep every digit
        ws.cell(row=1, column=i).font = Font(bold=True)
        example = ws.cell(row=2, column=i)
        example.number_format = "@"
        example.font = Font(italic=True, color="808080")  # grey: an example, not data
    ws.cell(row=2, column=1).comment = Comment(example_note(), "Yiwang", width=300, height=80)
    ws.freeze_panes = "A2"
    doc = wb.create_sheet(str(_("Columns")))
    doc.append([example_note()])
    doc.append([])
    doc.append([str(_("Column")), str(_("Field")), str(_("Required")), str(_("Description"))])
    for c in schema.columns:
        doc.append([c.header, c.field, "*" if c.required else "", str(c.help)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
