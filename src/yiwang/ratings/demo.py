"""Demo 好差评: completed services for the demo residents and their ratings (synthetic).

Nothing here depends on 一网通办 data: the services are invited through the same action the
``onestop.matter_completed`` subscriber calls, with ``demo.service:<n>`` references. The
``resident`` account gets two services to rate and a rectified one to confirm; the demo
bureaus get a spread of levels, rectifications in every state and one appeal for the data
administrator (``dataadmin``) to decide. A second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from yiwang.accounts.models import Department, User
from yiwang.ratings import actions
from yiwang.ratings.models import Level, Problem, RatingInvitation

#: (department code suffix, implementation code, matter name)
MATTERS = [
    ("cgj", "11330106MB1234567X400011701000", "城市建筑垃圾处置核准"),
    ("cgj", "11330106MB1234567X400011702000", "户外广告设施设置审批"),
    ("cgj", "11330106MB1234567X400011703000", "临时占用城市道路审批"),
    ("scj", "11330106MB7654321Y400011301000", "食品经营许可"),
    ("scj", "11330106MB7654321Y400011302000", "个体工商户设立登记"),
    ("mzj", "11330106MB2345678Z400011201000", "最低生活保障审核"),
    ("rsj", "11330106MB3456789W400011601000", "社会保障卡申领"),
    ("rsj", "11330106MB3456789W400011602000", "失业保险金申领"),
]
# A few negative ratings of 城管局 and 市场监管局 services at fixed places, so every run has
# rectifications in each state and an appeal; the rest drawn with these weights (best first).
FORCED = {2: "1", 3: "2", 9: "1", 10: "2"}
WEIGHTS = {"5": 50, "4": 25, "3": 10, "2": 9, "1": 6}
COMMENTS = {
    "5": ["全程网办，很方便", "窗口人员很耐心", "一次就办好了"],
    "4": ["整体满意", "办理速度较快"],
    "3": ["还可以，等待时间有点长", ""],
    "2": ["材料要求前后不一致", "跑了两次才办好"],
    "1": ["超过承诺时限仍未办结", "咨询电话一直打不通"],
}
NEGATIVE_PROBLEMS: dict[str, list[str]] = {
    "2": [Problem.MATERIALS.value, Problem.VISITS.value],
    "1": [Problem.SLOW.value, Problem.ATTITUDE.value],
}


@dataclass
class RatingsSeedReport:
    invitations: int = 0
    ratings: int = 0
    rectifications: int = 0
    appeals: int = 0


def seed(*, services: int = 40, district_code: str = "") -> RatingsSeedReport:
    report = RatingsSeedReport()
    if RatingInvitation.objects.filter(source="demo").exists():
        return report
    prefix = f"{district_code or settings.YIWANG_DEMO_DIVISION}-"
    depts = {d.code[len(prefix) :]: d for d in Department.objects.filter(code__startswith=prefix)}
    matters = [m for m in MATTERS if m[0] in depts]
    residents = list(
        User.objects.filter(username__startswith="resident", is_active=True).order_by("username")
    )
    if not matters or not residents:
        return report  # the main demo seed has not run
    rng = random.Random(20261201)
    now = timezone.now()
    main = next((u for u in residents if u.username == "resident"), residents[0])
    with transaction.atomic():
        invs: list[RatingInvitation] = []
        for n in range(services):
            suffix, code, name = matters[n % len(matters)]
            rater = main if n < 5 else residents[n % len(residents)]
            inv, created = actions.do_invite_rating(
                service_ref=f"demo.service:{n + 1}",
                department_id=depts[suffix].pk,
                rater_id=rater.pk,
                matter_name=name,
                matter_code=code,
                reference_no=f"YW-DEMO-{n + 1:05d}",
                channel=rng.choice(["online", "online", "mobile", "window"]),
                completed_at=now - dt.timedelta(hours=2 + n * 7),
            )
            report.invitations += int(created)
            invs.append(inv)
        levels, weights = zip(*WEIGHTS.items(), strict=True)
        staff_by_dept = {
            d.pk: User.objects.filter(department=d, is_active=True).order_by("role").first()
            for d in depts.values()
        }
        handled = 0  # negative ratings of departments with staff in the demo
        for i, inv in enumerate(invs):
            if i in (0, 1):
                continue  # the demo resident's two services still to rate
            level = FORCED.get(i) or rng.choices(levels, weights)[0]
            problems = list(NEGATIVE_PROBLEMS.get(level, []))[: rng.randint(1, 2)]
            rating = actions.do_rate_service(
                actor=inv.rater,
                invitation_id=inv.pk,
                level=level,
                scores={"attitude": max(1, int(level)), "timeliness": int(level)},
                problems=problems,
                comment=rng.choice(COMMENTS[level]),
                channel=inv.service_channel,
            )
            report.ratings += 1
            if level not in {Level.DISSATISFIED, Level.VERY_DISSATISFIED}:
                continue
            report.rectifications += 1
            rect = rating.rectification
            staff = staff_by_dept.get(inv.department_id)
            if staff is None:
                continue
            handled += 1
            step = handled % 4
            if i == 2 or step in (1, 2):
                actions.do_record_callback(
                    actor=staff, rectification_id=rect.pk, notes="已电话回访，了解具体情况并致歉"
                )
            if i == 2 or step == 2:
                actions.do_record_rectification(
                    actor=staff,
                    rectification_id=rect.pk,
                    result="已更新办事指南材料清单，并对窗口人员开展业务培训",
                )
            if step == 3 and report.appeals == 0:
                actions.do_appeal_rating(
                    actor=staff,
                    rating_id=rating.pk,
                    reason="该评价内容与本部门办理事项无关，疑似误评",
                )
                report.appeals += 1
    return report
