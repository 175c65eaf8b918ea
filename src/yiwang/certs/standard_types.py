"""The standard certificate types every deployment starts with (created by migration 0002
and refreshed by the demo seed). Pure data: codes and field names are the ones the one-stop
catalog (``onestop/content/matters.yaml``: ``certificate_type`` / ``certificate_fields``)
names. A deployment adds or edits types in the admin or with ``update_or_create``.

``fields``: ``{"name", "label", "required"}``; ``required`` data must be present at issue.
The one-stop app fills data from application forms, so its types require nothing a form
might leave empty.
"""

from __future__ import annotations

from typing import Any

PERSON = "person"
ORGANISATION = "organisation"


def _f(name: str, label: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "label": label, "required": required}


TYPES: list[dict[str, Any]] = [
    {
        "code": "business_licence",
        "name": "营业执照",
        "name_en": "Business licence",
        "holder_kind": ORGANISATION,
        "issuer_hint": "市场监督管理局",
        "validity_days": None,
        "fields": [
            _f("name", "名称"),
            _f("enterprise_type", "类型"),
            _f("legal_representative", "法定代表人"),
            _f("registered_capital", "注册资本"),
            _f("founded", "成立日期"),
            _f("address", "住所"),
            _f("business_scope", "经营范围"),
        ],
    },
    {
        "code": "food_business_permit",
        "name": "食品经营许可证",
        "name_en": "Food business licence",
        "holder_kind": ORGANISATION,
        "issuer_hint": "市场监督管理局",
        "validity_days": 5 * 365,
        "fields": [
            _f("operator", "经营者名称"),
            _f("legal_representative", "法定代表人（负责人）"),
            _f("premises", "经营场所"),
            _f("floor_area", "经营面积"),
            _f("main_format", "主体业态"),
            _f("items", "经营项目"),
        ],
    },
    {
        "code": "signboard_permit",
        "name": "户外招牌设置许可",
        "name_en": "Outdoor signboard permit",
        "holder_kind": ORGANISATION,
        "issuer_hint": "城市管理局",
        "validity_days": 3 * 365,
        "fields": [
            _f("holder", "设置人"),
            _f("location", "设置地点"),
            _f("content", "招牌内容"),
            _f("size", "规格"),
        ],
    },
    {
        "code": "fire_safety_commitment",
        "name": "公众聚集场所投入使用营业前消防安全检查合格证",
        "name_en": "Fire safety inspection certificate for a public venue",
        "holder_kind": ORGANISATION,
        "issuer_hint": "消防救援大队",
        "validity_days": None,
        "fields": [
            _f("venue_operator", "场所经营者"),
            _f("venue_address", "场所地址"),
            _f("floor_area", "使用面积"),
        ],
    },
    {
        "code": "birth_certificate",
        "name": "出生医学证明",
        "name_en": "Medical certificate of birth",
        "holder_kind": PERSON,
        "issuer_hint": "卫生健康委员会（助产机构）",
        "validity_days": None,
        "fields": [
            _f("child_name", "新生儿姓名"),
            _f("sex", "性别"),
            _f("born", "出生时间"),
            _f("place_of_birth", "出生地点"),
            _f("mother", "母亲姓名"),
            _f("father", "父亲姓名"),
        ],
    },
    {
        "code": "household_registration",
        "name": "户口登记证明",
        "name_en": "Household registration certificate",
        "holder_kind": PERSON,
        "issuer_hint": "公安机关（派出所）",
        "validity_days": None,
        "fields": [
            _f("name", "姓名"),
            _f("sex", "性别"),
            _f("born", "出生日期"),
            _f("household_no", "户号"),
            _f("address", "住址"),
        ],
    },
    {
        "code": "social_security_card",
        "name": "社会保障卡",
        "name_en": "Social security card",
        "holder_kind": PERSON,
        "issuer_hint": "人力资源和社会保障局",
        "validity_days": 10 * 365,
        "fields": [
            _f("name", "姓名"),
            _f("sex", "性别"),
            _f("born", "出生日期"),
            _f("card_number", "社会保障卡号"),
            _f("bank", "金融账户开户行"),
        ],
    },
]


def upsert_types(model: Any) -> int:
    """Create or refresh the standard types on ``model`` (the model class or a migration's
    historical model); returns how many were created."""
    created = 0
    for t in TYPES:
        _, made = model.objects.update_or_create(
            code=t["code"], defaults={k: v for k, v in t.items() if k != "code"}
        )
        created += int(made)
    return created
