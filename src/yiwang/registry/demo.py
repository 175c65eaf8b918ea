"""Synthetic registry for the demo district: grids, places, residents, city parts, enterprises.

Deterministic (fixed seeds), labelled synthetic, written in bulk (the per-row actions audit each
row; a seed writes one audit record per batch and one history entry per entity instead).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from yiwang.accounts.models import Department, Division, User
from yiwang.core import audit
from yiwang.core.crypto import default_sealer
from yiwang.core.ids import make_credit_code, make_resident_id
from yiwang.core.personal import normalize_id_number, normalize_phone
from yiwang.grid import actions as grid_actions
from yiwang.grid.models import Grid, GridMember
from yiwang.grid.selectors import grid_index
from yiwang.registry.models import ChangeRecord, Organisation, Person, Place, Tag, Thing

#: Synthetic extent near the demo district (WGS84).
ORIGIN = (120.080, 30.300)
COMMUNITY_W = 0.012
COMMUNITY_H = 0.010
GRIDS_PER_COMMUNITY = 5
DAYS = 365 * 80

#: Care tags besides the 2 % living-alone elders / low-income households: shares of people.
DISABLED_SHARE = 0.015
KEY_PERSON_SHARE = 0.003

#: The demo account whose own registry entry ("My registry entry") the seed makes.
DEMO_RESIDENT = "resident"

PART_CLASSES = [
    ("01001", "上水井盖"),
    ("01002", "污水井盖"),
    ("01003", "雨水井盖"),
    ("01101", "消防栓"),
    ("02001", "路灯"),
    ("02005", "交通信号灯"),
    ("03001", "垃圾箱"),
    ("03005", "公共厕所"),
    ("04001", "行道树"),
    ("05001", "公交站亭"),
    ("05005", "自行车停放点"),
    ("06001", "监控电子眼"),
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂文华建国玉红梅志海燕晓东春婷宇浩然子涵欣怡"
COMPANY_WORDS = [
    "云栖",
    "之江",
    "钱塘",
    "西溪",
    "湖畔",
    "数智",
    "启明",
    "青禾",
    "星河",
    "远航",
    "明德",
    "同创",
]
COMPANY_KINDS = [
    "科技有限公司",
    "信息技术有限公司",
    "生物医药有限公司",
    "贸易有限公司",
    "文化传媒有限公司",
    "餐饮管理有限公司",
]


@dataclass
class RegistryReport:
    grids: int = 0
    places: int = 0
    people: int = 0
    things: int = 0
    organisations: int = 0

    @property
    def changed(self) -> bool:
        return any(vars(self).values())


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A GeoJSON rectangle (WGS84 degrees)."""
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def demo_grid_collection(communities: list[Division]) -> dict[str, Any]:
    """Communities laid out street by street (columns) west→east, each split into strips."""
    feats = []
    x0, y_top = ORIGIN
    for i, comm in enumerate(communities):
        col, row = divmod(i, 3)
        cx0 = x0 + col * COMMUNITY_W
        cy1 = y_top - row * COMMUNITY_H
        strip = COMMUNITY_W / GRIDS_PER_COMMUNITY
        for g in range(GRIDS_PER_COMMUNITY):
            feats.append(
                {
                    "type": "Feature",
                    "properties": {"community": comm.code, "name": f"{comm.name[:2]}第{g + 1}网格"},
                    "geometry": rect(
                        cx0 + g * strip, cy1 - COMMUNITY_H, cx0 + (g + 1) * strip, cy1
                    ),
                }
            )
    return {"type": "FeatureCollection", "features": feats}


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


def seed_registry(
    *,
    district_code: str,
    communities: list[Division],
    people: int = 50_000,
    places_per_grid: int = 170,
    things: int = 5_000,
    enterprises: int = 3_000,
) -> RegistryReport:
    report = RegistryReport()
    rng = random.Random(4754)
    if not Grid.objects.filter(synthetic=True).exists():
        r = grid_actions.do_import_grids(
            actor=None, data=demo_grid_collection(communities), source="demo", synthetic=True
        )
        report.grids = r.created
    grids = list(Grid.objects.filter(synthetic=True).order_by("code"))
    # Grid workers: the demo's gridworker gets the first grid; a synthetic worker per grid.
    worker = User.objects.filter(username="gridworker").first()
    if worker and not GridMember.objects.filter(user=worker).exists():
        for g in grids[:2]:
            grid_actions.do_assign_member(actor=None, grid_id=g.pk, user_id=worker.pk)
    index = grid_index()
    sealer = default_sealer()
    pid_purpose = Person._meta.get_field("id_number_index").index_purpose()
    phone_purpose = Person._meta.get_field("phone_index").index_purpose()

    # --- Places: compound → building → unit → room, per grid -----------------------------------
    if not Place.objects.filter(synthetic=True).exists():
        with transaction.atomic():
            for g in grids:
                report.places += _seed_places(g, rng)
            _history_bulk(
                "place", list(Place.objects.filter(synthetic=True).values_list("pk", flat=True))
            )
            audit.record(
                "registry.demo_seeded",
                object_type="registry.place",
                detail={"count": report.places},
            )
    rooms: list[tuple[int, float, float]] = [
        (pk, float(x or 0), float(y or 0))
        for pk, x, y in Place.objects.filter(synthetic=True, kind=Place.Kind.ROOM).values_list(
            "pk", "lng", "lat"
        )
    ]

    # --- People ---------------------------------------------------------------------------------
    existing_people = Person.objects.filter(synthetic=True).count()
    if existing_people < people and rooms:
        start_date = dt.date(1940, 1, 1)
        # Disabled people and persons of special attention from a second generator, so the
        # main sequence (names, phones, the first two tags) stays what it always was.
        tag_rng = random.Random(4755 + existing_people)
        for chunk in _chunks(people - existing_people, 10_000):
            batch = []
            for i in chunk:
                n = existing_people + i
                # (birth day, sequence) is a bijection of n: unique IDs up to 29.2 million people.
                birth = start_date + dt.timedelta(days=(n * 7919) % DAYS)
                idn = make_resident_id(district_code, birth, n // DAYS)
                phone = f"1{rng.choice('3578')}{n:09d}"[:11]
                room = rooms[n % len(rooms)]
                tags = []
                if rng.random() < 0.02:
                    tags.append(Tag.LIVING_ALONE_ELDER if birth.year < 1960 else Tag.LOW_INCOME)
                draw = tag_rng.random()
                if draw < DISABLED_SHARE:
                    tags.append(Tag.DISABLED)
                elif draw < DISABLED_SHARE + KEY_PERSON_SHARE:
                    tags.append(Tag.KEY_PERSON)
                batch.append(
                    Person(
                        name=_name(rng),
                        id_number=idn,
                        id_number_index=sealer.blind_index(pid_purpose, normalize_id_number(idn)),
                        phone=phone,
                        phone_index=sealer.blind_index(phone_purpose, normalize_phone(phone)),
                        sex="M" if int(idn[16]) % 2 else "F",
                        birth_date=birth,
                        household_no=f"H{room[0]:08d}",
                        home_id=room[0],
                        lng=room[1],
                        lat=room[2],
                        grid_id=None,
                        tags=tags,
                        source="demo",
                        synthetic=True,
                    )
                )
            gids = index.assign([p.lng for p in batch], [p.lat for p in batch])
            for p, gid in zip(batch, gids.tolist(), strict=True):
                p.grid_id = gid if gid >= 0 else None
            with transaction.atomic():
                created = Person.objects.bulk_create(batch, batch_size=2000)
                report.people += len(created)
        with transaction.atomic():
            _history_bulk(
                "person",
                list(Person.objects.filter(synthetic=True, pk__gt=0).values_list("pk", flat=True)),
            )
            audit.record(
                "registry.demo_seeded",
                object_type="registry.person",
                detail={"count": report.people},
            )

    report.people += _seed_resident_entry(grids, rooms, index)

    # --- Things ---------------------------------------------------------------------------------
    if not Thing.objects.filter(synthetic=True).exists() and grids:
        owner = Department.objects.filter(code=f"{district_code}-cgj").first()
        tx0, ty1 = ORIGIN
        batch_t = []
        for n in range(things):
            cls, name = PART_CLASSES[n % len(PART_CLASSES)]
            x = tx0 + rng.uniform(0, 4 * COMMUNITY_W)
            y = ty1 - rng.uniform(0, 3 * COMMUNITY_H)
            batch_t.append(
                Thing(
                    part_code=f"{district_code}{cls}{n + 1:06d}",
                    class_code=cls,
                    name=name,
                    status=Thing.Status.DAMAGED if rng.random() < 0.03 else Thing.Status.NORMAL,
                    owner_department=owner,
                    lng=x,
                    lat=y,
                    synthetic=True,
                )
            )
        gids = index.assign([t.lng for t in batch_t], [t.lat for t in batch_t])
        for t, gid in zip(batch_t, gids.tolist(), strict=True):
            t.grid_id = gid if gid >= 0 else None
        with transaction.atomic():
            Thing.objects.bulk_create(batch_t, batch_size=2000)
            report.things = len(batch_t)
            _history_bulk(
                "thing", list(Thing.objects.filter(synthetic=True).values_list("pk", flat=True))
            )
            audit.record(
                "registry.demo_seeded",
                object_type="registry.thing",
                detail={"count": report.things},
            )

    # --- Enterprises ----------------------------------------------------------------------------
    if not Organisation.objects.filter(synthetic=True).exists() and grids:
        from yiwang.core.models import IndustryCode

        classes = list(
            IndustryCode.objects.filter(level="class").values_list("code", flat=True)
        ) or ["I6510"]
        sites = list(
            Place.objects.filter(synthetic=True, kind=Place.Kind.BUILDING).values_list(
                "pk", "lng", "lat", "name"
            )
        )
        batch_o = []
        for n in range(enterprises):
            site = sites[n % len(sites)] if sites else (None, ORIGIN[0], ORIGIN[1], "")
            founded = dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 30))
            batch_o.append(
                Organisation(
                    kind=Organisation.Kind.ENTERPRISE if n % 20 else Organisation.Kind.SOCIAL,
                    credit_code=make_credit_code(district_code, f"MA{n:07d}"),
                    name=_company_name(rng, n),
                    industry_code=rng.choice(classes),
                    size_class=rng.choices(
                        ["micro", "small", "medium", "large"], weights=[60, 28, 10, 2]
                    )[0],
                    registered_address=str(site[3]),
                    founded_on=founded,
                    registered_capital=round(rng.lognormvariate(5, 1.2), 2),
                    legal_representative=_name(rng),
                    place_id=site[0],
                    lng=site[1],
                    lat=site[2],
                    synthetic=True,
                )
            )
        gids = index.assign([o.lng for o in batch_o], [o.lat for o in batch_o])
        for o, gid in zip(batch_o, gids.tolist(), strict=True):
            o.grid_id = gid if gid >= 0 else None
        with transaction.atomic():
            Organisation.objects.bulk_create(batch_o, batch_size=2000)
            report.organisations = len(batch_o)
            _history_bulk(
                "organisation",
                list(Organisation.objects.filter(synthetic=True).values_list("pk", flat=True)),
            )
            audit.record(
                "registry.demo_seeded",
                object_type="registry.organisation",
                detail={"count": report.organisations},
            )
    return report


def _seed_resident_entry(
    grids: list[Grid], rooms: list[tuple[int, float, float]], index: Any
) -> int:
    """The demo ``resident`` account's own registry entry, so "My registry entry" shows one.

    The seeded people have IDs of their own (sequence 0 or 1), and the account's ID number
    was drawn with a random sequence, so no seeded person is the resident: this adds them,
    matched as "My registry entry" matches (the blind index of the account's ID number), in a
    room of the demo grid worker's first grid; then the grid worker views the entry and the
    duty operator shows its phone number for a stated purpose — through the same reads staff
    make, so the resident's access log has two entries. Does nothing when the entry exists."""
    from yiwang.core.errors import DomainError
    from yiwang.registry import actions, selectors

    user = User.objects.filter(username=DEMO_RESIDENT).first()
    if user is None or not user.id_number or not grids:
        return 0
    sealer = default_sealer()
    idn = normalize_id_number(user.id_number)
    pid_index = sealer.blind_index(Person._meta.get_field("id_number_index").index_purpose(), idn)
    if Person.objects.filter(id_number_index=pid_index).exists():
        return 0
    worker = User.objects.filter(username="gridworker").first()
    member = (
        GridMember.objects.filter(user=worker).order_by("grid__code").first() if worker else None
    )
    grid = member.grid if member is not None else grids[0]
    room_ids = {pk for pk, _x, _y in rooms}
    room = (
        Place.objects.filter(synthetic=True, kind=Place.Kind.ROOM, grid=grid)
        .order_by("code")
        .values_list("pk", "lng", "lat")
        .first()
    )
    home: tuple[int | None, float | None, float | None] = (
        room
        if room is not None and room[0] in room_ids
        else (None, grid.centroid_lng, grid.centroid_lat)
    )
    phone = normalize_phone(user.phone or "")
    phone_purpose = Person._meta.get_field("phone_index").index_purpose()
    person = Person(
        name=(user.display_name or "居民")[:50],
        id_number=idn,
        id_number_index=pid_index,
        phone=phone,
        phone_index=sealer.blind_index(phone_purpose, phone) if phone else "",
        sex="M" if int(idn[16]) % 2 else "F",
        birth_date=dt.date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14])),
        household_no=f"H{home[0]:08d}" if home[0] else "",
        home_id=home[0],
        lng=float(home[1] or 0),
        lat=float(home[2] or 0),
        tags=[],
        source="demo",
        synthetic=True,
    )
    gid = int(index.assign([person.lng], [person.lat])[0])
    person.grid_id = gid if gid >= 0 else None
    with transaction.atomic():
        person.save()
        _history_bulk("person", [person.pk])
        audit.record(
            "registry.demo_seeded",
            object_type="registry.person",
            detail={"count": 1, "account": DEMO_RESIDENT},
        )
    # What the resident's access log then shows: staff reading their entry.
    operator = User.objects.filter(username="operator").first()
    try:
        if worker is not None:
            selectors.access_entity(worker, "person", person.pk, purpose="入户走访核实（演示）")
        if operator is not None:
            actions.do_unmask_person(
                actor=operator, person_id=person.pk, field="phone", purpose="回访联系居民（演示）"
            )
    except DomainError:  # out of scope or not allowed in a customised demo: no entry then
        pass
    return 1


def _company_name(rng: random.Random, n: int) -> str:
    words = rng.choice(COMPANY_WORDS) + rng.choice(COMPANY_WORDS)
    return f"杭州{words}{rng.choice(COMPANY_KINDS)}（演示{n + 1}）"


def _seed_places(g: Grid, rng: random.Random) -> int:
    """Two compounds of five buildings, two units each, eight rooms a unit (192 places)."""
    seq = 0

    def place(
        kind: str, name: str, parent: Place | None, x: float, y: float, address: str = ""
    ) -> Place:
        nonlocal seq
        seq += 1
        return Place(
            code=f"{g.code}-{seq:04d}",
            kind=kind,
            name=name,
            parent=parent,
            address=address,
            lng=x,
            lat=y,
            grid_id=g.pk,
            synthetic=True,
        )

    made = 0
    y_mid = (g.min_lat + g.max_lat) / 2
    for c in range(2):
        cx = g.min_lng + (g.max_lng - g.min_lng) * (0.25 + 0.5 * c)
        comp = place(Place.Kind.COMPOUND, f"{g.name}{'东西'[c]}苑（演示）", None, cx, y_mid)
        comp.save()
        made += 1
        coords = [
            (cx + rng.uniform(-0.0008, 0.0008), y_mid + rng.uniform(-0.003, 0.003))
            for _ in range(5)
        ]
        buildings = [
            place(Place.Kind.BUILDING, f"{comp.name}{b + 1}幢", comp, x, y)
            for b, (x, y) in enumerate(coords)
        ]
        Place.objects.bulk_create(buildings)
        units = [
            place(Place.Kind.UNIT, f"{b.name}{u + 1}单元", b, x, y)
            for b, (x, y) in zip(buildings, coords, strict=True)
            for u in range(2)
        ]
        Place.objects.bulk_create(units)
        unit_xy = [xy for xy in coords for _ in range(2)]
        rooms = [
            place(
                Place.Kind.ROOM,
                f"{u.name}{fl + 1}0{r + 1}室",
                u,
                x,
                y,
                address=f"{u.name}{fl + 1}0{r + 1}室",
            )
            for u, (x, y) in zip(units, unit_xy, strict=True)
            for fl in range(4)
            for r in range(2)
        ]
        Place.objects.bulk_create(rooms)
        made += len(buildings) + len(units) + len(rooms)
    return made


def _history_bulk(entity: str, pks: list[int]) -> None:
    have = set(
        ChangeRecord.objects.filter(entity_type=entity, source="demo").values_list(
            "entity_id", flat=True
        )
    )
    ChangeRecord.objects.bulk_create(
        [
            ChangeRecord(
                entity_type=entity,
                entity_id=pk,
                actor="",
                source="demo",
                action="created",
                changes={},
            )
            for pk in pks
            if pk not in have
        ],
        batch_size=5000,
    )
