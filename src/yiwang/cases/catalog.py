"""Seed data: workflow states, stage-limit tiers and ~40 common 部件/事件 categories.

Codes follow the 2-digit major + 3-digit minor structure of the city-management standards
(部件 and 事件 number their classes independently, so a category is identified by kind and
code; its Open311 ``service_code`` is ``C``/``E`` + code). The exact minor codes here are
demo values in that structure (*unverified* against GB/T 30428.2); deployments load their
own table. Time limits are working hours (a working day is 8 h).
"""

from __future__ import annotations

from typing import Any

# code, zh-Hans name, type, clock stage, order
STATES: list[tuple[str, str, str, str, int]] = [
    ("reported", "待受理", "open", "accept", 10),
    ("registered", "已立案待派遣", "open", "dispatch", 20),
    ("dispatched", "已派遣待处置", "open", "handle", 30),
    ("handling", "处置中", "open", "handle", 40),
    ("verifying", "待核查", "open", "verify", 50),
    ("closed", "已结案", "fixed", "", 60),
    ("rated", "已评价", "fixed", "", 70),
    ("rejected", "不予立案", "closed", "", 80),
    ("merged", "已并单", "closed", "", 85),
    ("void", "已作废", "closed", "", 90),
]

# Default stage limits (working hours) per priority tier — STANDARDS.md (Beijing 12345 spec):
# dispatch ≤1 h emergencies, ≤2 h utilities, ~24 h (1 working day) general; reply 2 h
# emergencies, 24 h (1 working day) utilities, 7 days general, 15 days complex.
TIERS: dict[str, dict[str, float]] = {
    "emergency": {"accept": 0.5, "dispatch": 1, "handle": 2, "verify": 2},
    "utility": {"accept": 1, "dispatch": 2, "handle": 8, "verify": 8},
    "general": {"accept": 2, "dispatch": 8, "handle": 56, "verify": 8},
    "complex": {"accept": 2, "dispatch": 8, "handle": 120, "verify": 16},
}

#: Share of a stage's limit after which the case turns yellow.
WARN_FRACTION = 0.8


def _yes_no(code: str, desc: str, required: bool = True, order: int = 1) -> dict[str, Any]:
    return {
        "code": code,
        "datatype": "singlevaluelist",
        "required": required,
        "description": desc,
        "datatype_description": "",
        "order": order,
        "variable": True,
        "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}],
    }


COVER_TYPE = {
    "code": "cover_type",
    "datatype": "singlevaluelist",
    "required": False,
    "description": "井盖类型",
    "datatype_description": "",
    "order": 2,
    "variable": True,
    "values": [
        {"key": "water", "name": "上水"},
        {"key": "sewage", "name": "污水"},
        {"key": "rain", "name": "雨水"},
        {"key": "power", "name": "电力"},
        {"key": "telecom", "name": "通信"},
    ],
}
NOISE_SOURCE = {
    "code": "noise_source",
    "datatype": "singlevaluelist",
    "required": True,
    "description": "噪声来源",
    "datatype_description": "",
    "order": 1,
    "variable": True,
    "values": [
        {"key": "construction", "name": "建筑施工"},
        {"key": "business", "name": "商业经营"},
        {"key": "living", "name": "社会生活"},
        {"key": "traffic", "name": "交通运输"},
    ],
}
PLATE = {
    "code": "plate_number",
    "datatype": "string",
    "required": False,
    "description": "车牌号",
    "datatype_description": "如 浙A12345",
    "order": 1,
    "variable": True,
}
LAMP_COUNT = {
    "code": "lamp_count",
    "datatype": "number",
    "required": False,
    "description": "不亮的路灯数量",
    "datatype_description": "整数",
    "order": 1,
    "variable": True,
}

# kind, code, group, name, priority, keywords, attributes, extra time limits
CATEGORIES: list[tuple[str, str, str, str, str, str, list[dict[str, Any]], dict[str, float]]] = [
    # 部件 — 公用设施
    (
        "component",
        "01001",
        "公用设施",
        "上水井盖破损",
        "utility",
        "井盖",
        [_yes_no("hazard", "是否有坠落危险"), COVER_TYPE],
        {},
    ),
    (
        "component",
        "01002",
        "公用设施",
        "污水井盖破损",
        "utility",
        "井盖",
        [_yes_no("hazard", "是否有坠落危险")],
        {},
    ),
    (
        "component",
        "01003",
        "公用设施",
        "雨水井盖破损",
        "utility",
        "井盖",
        [_yes_no("hazard", "是否有坠落危险")],
        {},
    ),
    (
        "component",
        "01004",
        "公用设施",
        "井盖破损",
        "utility",
        "井盖 缺失 松动",
        [_yes_no("hazard", "是否有坠落危险"), COVER_TYPE],
        {},
    ),
    ("component", "01005", "公用设施", "消防栓损坏", "utility", "消火栓 漏水", [], {}),
    ("component", "01006", "公用设施", "电力设施损坏", "utility", "电箱 电线", [], {}),
    ("component", "01007", "公用设施", "通信设施损坏", "general", "光缆 电信箱", [], {}),
    ("component", "01008", "公用设施", "燃气设施损坏", "emergency", "燃气 泄漏", [], {}),
    # 部件 — 道路交通
    ("component", "02001", "道路交通", "路灯不亮", "general", "路灯", [LAMP_COUNT], {"handle": 24}),
    ("component", "02002", "道路交通", "交通信号灯故障", "emergency", "红绿灯", [], {}),
    ("component", "02003", "道路交通", "交通标志牌损坏", "general", "标志牌", [], {}),
    ("component", "02004", "道路交通", "道路护栏损坏", "general", "护栏", [], {}),
    ("component", "02005", "道路交通", "人行道板破损", "general", "道板 地砖", [], {}),
    ("component", "02006", "道路交通", "道路坑洼", "utility", "坑洼 塌陷", [], {}),
    ("component", "02007", "道路交通", "公交站亭损坏", "general", "站亭", [], {}),
    # 部件 — 市容环境
    ("component", "03001", "市容环境", "公共厕所损坏", "general", "厕所", [], {}),
    ("component", "03002", "市容环境", "垃圾箱破损", "general", "果皮箱 垃圾桶", [], {}),
    ("component", "03003", "市容环境", "广告牌匾破损", "general", "招牌", [], {}),
    ("component", "03004", "市容环境", "公共座椅损坏", "general", "座椅", [], {}),
    # 部件 — 园林绿化
    ("component", "04001", "园林绿化", "行道树倒伏", "utility", "树木 倒伏", [], {}),
    ("component", "04002", "园林绿化", "绿地破坏", "general", "草坪", [], {}),
    ("component", "04003", "园林绿化", "护树设施损坏", "general", "树池", [], {}),
    # 事件 — 市容环境
    ("event", "01001", "市容环境", "暴露垃圾", "general", "垃圾", [], {"handle": 16}),
    ("event", "01002", "市容环境", "积存垃圾渣土", "general", "渣土", [], {}),
    ("event", "01003", "市容环境", "道路不洁", "general", "脏乱", [], {}),
    ("event", "01004", "市容环境", "乱涂写乱张贴", "general", "小广告", [], {}),
    ("event", "01005", "市容环境", "乱堆物料", "general", "堆物 堆料", [], {}),
    ("event", "01006", "市容环境", "私搭乱建", "complex", "违建 违法建设", [], {}),
    ("event", "01007", "市容环境", "焚烧垃圾", "utility", "焚烧 烟雾", [], {}),
    # 事件 — 街面秩序
    ("event", "02001", "街面秩序", "占道经营", "general", "摆摊 流动摊贩", [], {}),
    ("event", "02002", "街面秩序", "店外经营", "general", "出店经营", [], {}),
    ("event", "02003", "街面秩序", "违章停车", "general", "乱停车 机动车", [PLATE], {"handle": 8}),
    ("event", "02004", "街面秩序", "非机动车乱停放", "general", "共享单车", [], {}),
    ("event", "02005", "街面秩序", "占道废品收购", "general", "废品", [], {}),
    # 事件 — 施工管理
    ("event", "03001", "施工管理", "施工扰民", "general", "夜间施工", [], {}),
    ("event", "03002", "施工管理", "道路遗撒", "utility", "渣土车 遗撒", [], {}),
    ("event", "03003", "施工管理", "施工围挡破损", "general", "围挡", [], {}),
    # 事件 — 突发事件
    ("event", "04001", "突发事件", "路面积水", "emergency", "内涝 积水", [], {}),
    ("event", "04002", "突发事件", "道路塌陷", "emergency", "塌陷", [], {}),
    ("event", "04003", "突发事件", "水管爆裂", "emergency", "爆管 漏水", [], {}),
    # 事件 — 其他
    ("event", "05001", "环境保护", "噪声扰民", "general", "噪音", [NOISE_SOURCE], {}),
    ("event", "05002", "环境保护", "油烟污染", "general", "油烟", [], {}),
    ("event", "05003", "环境保护", "违规排污", "utility", "污水 排放", [], {}),
]


def seed(apps: Any = None) -> None:
    """Insert or update the states and categories (idempotent; used by the data migration)."""
    if apps is None:
        from django.apps import apps as django_apps

        apps = django_apps
    State = apps.get_model("cases", "State")
    Category = apps.get_model("cases", "Category")
    for code, name, type_, stage, order in STATES:
        State.objects.update_or_create(
            code=code, defaults={"name": name, "type": type_, "stage": stage, "order": order}
        )
    for kind, code, group, name, prio, keywords, attrs, limits in CATEGORIES:
        Category.objects.update_or_create(
            kind=kind,
            code=code,
            defaults={
                "group": group,
                "name": name,
                "default_priority": prio,
                "keywords": keywords,
                "attributes": attrs,
                "time_limits": limits,
            },
        )
