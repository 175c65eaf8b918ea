"""A small two-stage bundle for tests, independent of the shipped content: three departments
approve stage 1 in parallel (one only when the applicant has an outdoor sign), a fourth follows
in stage 2."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yiwang.accounts.models import Department, User
from yiwang.accounts.roles import Role
from yiwang.accounts.tests.factories import DepartmentFactory, UserFactory
from yiwang.onestop.models import (
    Bundle,
    BundleItem,
    BundleStatus,
    FieldKind,
    FormField,
    Implementation,
    Material,
    MaterialSource,
    Matter,
    MatterType,
    SituationQuestion,
)

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Kit:
    bundle: Bundle
    departments: dict[str, Department] = field(default_factory=dict)
    staff: dict[str, User] = field(default_factory=dict)
    implementations: dict[str, Implementation] = field(default_factory=dict)
    materials: dict[str, Material] = field(default_factory=dict)


def _impl(kit: Kit, key: str, dept: Department, limit: int, **kw: Any) -> Implementation:
    matter = Matter.objects.create(
        catalog_code=f"M-{key}",
        name=f"事项{key}",
        matter_type=MatterType.LICENSING,
        exercising_level="county",
    )
    impl = Implementation.objects.create(
        matter=matter, code=f"I-{key}", department=dept, promised_limit=limit, **kw
    )
    kit.implementations[key] = impl
    return impl


def build_kit(
    world: Any,
    *,
    completion: str = "all",
    two_stages: bool = True,
    use: dict[str, Department] | None = None,
) -> Kit:
    """``use`` puts existing departments in place of the kit's own (e.g. the scope world's
    bureau as "scj")."""
    county = world["county_a"]
    use = use or {}
    depts = {
        k: use.get(k) or DepartmentFactory(code=f"k-{k}", name=f"{k}局", division=county)
        for k in ("scj", "cgj", "xfj", "swj", "zwb")
    }
    bundle = Bundle.objects.create(
        code="shop",
        name="开店",
        audience="enterprise",
        lead_department=depts["zwb"],
        completion=completion,
        status=BundleStatus.PUBLISHED,
    )
    kit = Kit(bundle=bundle, departments=depts)
    for k, d in depts.items():
        if k not in use:
            kit.staff[k] = UserFactory(username=f"staff_{k}", role=Role.DEPT_STAFF, department=d)
    if "scj" not in use:
        kit.staff["leader_scj"] = UserFactory(
            username="leader_scj", role=Role.DEPT_LEADER, department=depts["scj"]
        )
    SituationQuestion.objects.create(bundle=bundle, key="has_sign", text="招牌?", kind="boolean")
    SituationQuestion.objects.create(bundle=bundle, key="area", text="面积", kind="number", order=1)
    SituationQuestion.objects.create(
        bundle=bundle,
        key="food",
        text="食品?",
        kind="enum",
        choices=[{"value": "hot"}, {"value": "cold"}],
        shown_when="area > 50",
        order=2,
    )
    reg = _impl(
        kit,
        "reg",
        depts["scj"],
        3,
        certificate_type="business_licence",
        certificate_fields={"shop_name": "name"},
    )
    sign = _impl(kit, "sign", depts["cgj"], 5)
    fire = _impl(kit, "fire", depts["xfj"], 5)
    tax = _impl(kit, "tax", depts["swj"], 2)
    BundleItem.objects.create(bundle=bundle, implementation=reg, stage=1)
    BundleItem.objects.create(bundle=bundle, implementation=sign, stage=1, applies_when="has_sign")
    BundleItem.objects.create(bundle=bundle, implementation=fire, stage=1)
    BundleItem.objects.create(bundle=bundle, implementation=tax, stage=2 if two_stages else 1)
    kit.materials["lease"] = Material.objects.create(
        implementation=reg, key="lease", name="租赁合同", formats=["pdf"], max_size_kb=100
    )
    kit.materials["id_copy"] = Material.objects.create(
        implementation=reg,
        key="id_copy",
        name="身份证明",
        source=MaterialSource.SHARED,
        source_ref="registry:organisation",
    )
    kit.materials["sign_design"] = Material.objects.create(
        implementation=sign, key="sign_design", name="招牌设计图", formats=["png", "jpg", "pdf"]
    )
    kit.materials["plan"] = Material.objects.create(
        implementation=fire, key="plan", name="平面图", formats=["pdf"], deferrable=True
    )
    kit.materials["cold_room"] = Material.objects.create(
        implementation=fire,
        key="cold_room",
        name="冷食间说明",
        formats=["pdf"],
        applies_when='food == "cold"',
    )
    kit.materials["licence"] = Material.objects.create(
        implementation=tax,
        key="licence",
        name="营业执照",
        source=MaterialSource.CERTIFICATE,
        source_ref="business_licence",
    )
    FormField.objects.create(
        bundle=bundle, key="shop_name", label="店名", kind=FieldKind.TEXT, max_length=30
    )
    FormField.objects.create(
        bundle=bundle,
        key="credit_code",
        label="信用代码",
        kind=FieldKind.CREDIT_CODE,
        prefill="profile:credit_code",
        order=1,
    )
    FormField.objects.create(
        bundle=bundle,
        key="phone",
        label="电话",
        kind=FieldKind.PHONE,
        prefill="profile:phone",
        personal=True,
        order=2,
    )
    FormField.objects.create(
        bundle=bundle,
        key="seats",
        label="座位",
        kind=FieldKind.NUMBER,
        required=False,
        applies_when="area > 50",
        order=3,
    )
    return kit


def submitted_application(kit: Kit, applicant: User, *, commitment: bool = True) -> Any:
    """A submitted application of ``applicant`` (sign: yes, small area). The identity material
    is uploaded (the registry is left alone, so other apps' worlds are not disturbed)."""
    from yiwang.onestop import actions

    app = actions.do_start_application(actor=applicant, bundle_code=kit.bundle.code)
    actions.do_save_draft(
        actor=applicant,
        application_id=app.pk,
        answers={"has_sign": True, "area": 20},
        form={"shop_name": "小馆"},
    )
    uploads = (
        ("lease", "lease.pdf", PDF),
        ("sign_design", "s.png", PNG),
        ("id_copy", "id.pdf", PDF),
    )
    for key, name, data in uploads:
        if app.materials.filter(material=kit.materials[key], state="waived").exists():
            continue
        actions.do_upload_material(
            actor=applicant,
            application_id=app.pk,
            material_id=kit.materials[key].pk,
            name=name,
            data=data,
        )
    return actions.do_submit_application(
        actor=applicant, application_id=app.pk, commitment=commitment
    )
