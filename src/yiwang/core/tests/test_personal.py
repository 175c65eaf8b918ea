"""Personal-data fields: encrypted at rest, blind-indexed, classified, masked."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from yiwang.accounts.models import User
from yiwang.accounts.tests.factories import UserFactory
from yiwang.core import masking
from yiwang.core.personal import blind_index_for, personal_fields

# Field names that hold ID numbers, phones, addresses, health or location data.
SUSPECT = (
    "id_number",
    "idcard",
    "id_card",
    "phone",
    "mobile",
    "tel",
    "address",
    "health",
    "diagnos",
    "location",
    "lat",
    "lng",
    "lon",
    "longitude",
    "latitude",
    "email",
    "birth",
    "display_name",
    "real_name",
    "first_name",
    "last_name",
)
EXEMPT_SUFFIXES = ("_index",)


def test_every_personal_looking_field_is_classified():
    missing = []
    for model in apps.get_models():
        if not model.__module__.startswith("yiwang."):
            continue
        for f in model._meta.concrete_fields:
            name = f.name.lower()
            if name.endswith(EXEMPT_SUFFIXES):
                continue
            if getattr(f, "pi_exempt", ""):
                continue
            if any(s in name for s in SUSPECT) and getattr(f, "pi_class", None) is None:
                missing.append(f"{model._meta.label}.{f.name}")
    assert not missing, f"unclassified personal-data fields: {missing}"


def test_user_fields_are_classified_as_expected():
    fields = personal_fields(User)
    assert fields["id_number"] == "spi"
    assert fields["phone"] == "pi"
    assert fields["display_name"] == "pi"


@pytest.mark.django_db
def test_id_number_and_phone_are_ciphertext_in_the_database():
    user = UserFactory(id_number="110101199003071234", phone="13812345678")
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone FROM accounts_user WHERE id = %s", [user.pk])
        raw_id, raw_phone = cur.fetchone()
    assert "110101199003071234" not in raw_id and "$" in raw_id
    assert "13812345678" not in raw_phone
    fresh = User.objects.get(pk=user.pk)
    assert fresh.id_number == "110101199003071234"
    assert fresh.phone == "13812345678"


@pytest.mark.django_db
def test_lookup_by_blind_index_finds_exact_matches_only():
    a = UserFactory(phone="13812345678", id_number="110101199003071234")
    UserFactory(phone="13912345678")
    found = User.objects.filter(
        phone_index=blind_index_for(User, "phone_index", "+86 138-1234-5678")
    )
    assert list(found) == [a]
    by_id = User.objects.filter(
        id_number_index=blind_index_for(User, "id_number_index", "110101199003071234")
    )
    assert list(by_id) == [a]


@pytest.mark.django_db
def test_filtering_an_encrypted_column_directly_is_refused():
    with pytest.raises(TypeError, match="blind index"):
        list(User.objects.filter(phone="13812345678"))


def test_masks():
    assert masking.mask_id_number("11010119900307123X") == "110***********123X"
    assert masking.mask_phone("13812345678") == "138****5678"
    assert masking.mask_name("张三丰") == "张*丰"
    assert masking.mask_name("张三") == "张*"
    assert masking.mask_name("欧阳娜娜") == "欧**娜"
    assert masking.mask_id_number("") == ""


def _blind_index_fields() -> list[tuple[type, object]]:
    from yiwang.core.personal import BlindIndexField

    return [
        (m, f)
        for m in apps.get_models()
        for f in m._meta.local_concrete_fields
        if isinstance(f, BlindIndexField)
    ]


def _indexes_on(table: str, column: str) -> list[str]:
    """The definitions of PostgreSQL indexes on ``table`` that cover ``column``."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [table, f"%({column}%"],
        )
        return [r[0] for r in cur.fetchall()]


@pytest.mark.django_db
def test_blind_indexes_get_one_btree_each_and_no_like_index() -> None:
    """An HMAC digest is only compared for equality: the migrated schema has exactly one
    index per blind-index column (no ``varchar_pattern_ops`` twin for LIKE)."""
    if connection.vendor != "postgresql":
        pytest.skip("Django adds LIKE indexes on PostgreSQL only")
    fields = _blind_index_fields()
    assert len(fields) >= 6
    for model, f in fields:
        defs = _indexes_on(model._meta.db_table, f.column)
        assert len(defs) == 1, defs
        assert "pattern_ops" not in defs[0]
        # Still the same column type, and equality lookups still use the index.
        assert f.db_type(connection) == "character varying(64)"


@pytest.mark.django_db
def test_the_migration_drops_like_indexes_left_by_older_versions() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Django adds LIKE indexes on PostgreSQL only")
    from django.db.migrations.executor import MigrationExecutor

    from yiwang.core.personal import DropBlindIndexLikeIndexes
    from yiwang.registry.models import Person

    table = Person._meta.db_table
    with connection.schema_editor(atomic=False) as editor:
        name = editor._create_index_name(table, ["phone_index"], suffix="_like")
        editor.execute(
            f"CREATE INDEX {editor.quote_name(name)} ON {editor.quote_name(table)} "
            "(phone_index varchar_pattern_ops)"
        )
        assert len(_indexes_on(table, "phone_index")) == 2
        state = MigrationExecutor(connection).loader.project_state()
        DropBlindIndexLikeIndexes("registry").drop(state.apps, editor)
    assert [d for d in _indexes_on(table, "phone_index") if "pattern_ops" in d] == []
    assert len(_indexes_on(table, "phone_index")) == 1
    # Nothing to drop the second time, and nothing at all on SQLite-like no-ops.
    with connection.schema_editor(atomic=False) as editor:
        DropBlindIndexLikeIndexes("registry").drop(state.apps, editor)
