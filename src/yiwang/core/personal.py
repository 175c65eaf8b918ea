"""Personal-data classification, encrypted fields, blind indexes (PIPL, GB/T 35273).

Every model field that holds personal information carries ``pi_class``: ``PI`` or
``SENSITIVE_PI``. ``classify(field, PI)`` marks an ordinary field; ``EncryptedTextField`` is
always classified. ``tests/test_classification`` fails when a field whose name suggests an ID
number, phone, address, health or location data is left unclassified.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import migrations, models
from django.db.models import Model
from django.utils.translation import gettext_lazy as _

from yiwang.core.crypto import DecryptionError, default_sealer


class PIClass(models.TextChoices):
    PI = "pi", _("Personal information")
    SENSITIVE_PI = "spi", _("Sensitive personal information")


PI = PIClass.PI
SENSITIVE_PI = PIClass.SENSITIVE_PI

F = TypeVar("F", bound=models.Field)  # type: ignore[type-arg]


def classify(field: F, pi_class: PIClass, *, category: str = "") -> F:
    """Mark a model field as personal information of the given class."""
    field.pi_class = pi_class  # type: ignore[attr-defined]
    field.pi_category = category  # type: ignore[attr-defined]
    return field


def not_personal(field: F, reason: str) -> F:
    """Declare that a field whose name looks personal is not (e.g. a grid's centroid)."""
    field.pi_exempt = reason  # type: ignore[attr-defined]
    return field


def pi_class_of(field: Any) -> PIClass | None:
    return getattr(field, "pi_class", None)


def personal_fields(model: type[Model]) -> dict[str, PIClass]:
    """``{field name: class}`` for the model's classified fields."""
    out: dict[str, PIClass] = {}
    for f in model._meta.get_fields():
        c = pi_class_of(f)
        if c is not None:
            out[f.name] = c
    return out


# --- Normalisers used before blind-indexing ---------------------------------------------------
def normalize_id_number(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def normalize_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def normalize_text(value: str) -> str:
    return value.strip()


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "id_number": normalize_id_number,
    "phone": normalize_phone,
    "text": normalize_text,
}


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text field stored as SM4-GCM ciphertext with a key-id prefix.

    Reads decrypt transparently; a ciphertext that fails authentication raises
    ``DecryptionError`` rather than returning garbage. Encrypted columns cannot be filtered
    on; pair the field with a ``BlindIndexField`` for exact lookup.
    """

    description = "Text encrypted with SM4-GCM"

    def __init__(self, *args: Any, pi_class: PIClass = SENSITIVE_PI, **kwargs: Any) -> None:
        self.pi_class = pi_class
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.pi_class != SENSITIVE_PI:
            kwargs["pi_class"] = self.pi_class
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return default_sealer().open(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return default_sealer().seal(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in {"isnull"}:
            raise TypeError(
                f"encrypted field {self.name!r} cannot be filtered with {lookup_name!r}; "
                "use its blind index"
            )
        return super().get_lookup(lookup_name)


class BlindIndexField(models.CharField):  # type: ignore[type-arg]
    """HMAC-SM3 of the normalised plaintext of ``source`` — exact lookup without decryption.

    Filled on save. The key is derived per ``purpose`` (default ``<app>.<model>.<source>``),
    so equal values in different fields do not index equally.
    """

    def __init__(
        self,
        *args: Any,
        source: str = "",
        normalizer: str = "text",
        purpose: str = "",
        **kwargs: Any,
    ) -> None:
        self.source = source
        self.normalizer = normalizer
        self.purpose = purpose
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["normalizer"] = self.normalizer
        if self.purpose:
            kwargs["purpose"] = self.purpose
        for k in ("max_length", "blank", "default", "db_index", "editable"):
            kwargs.pop(k, None)
        return name, path, args, kwargs

    def db_type(self, connection: Any) -> str | None:
        # On PostgreSQL Django gives every indexed ``varchar`` column a second B-tree with
        # ``varchar_pattern_ops`` for LIKE (``…_like``), recognised by the type's spelling.
        # A blind index is an HMAC digest, only ever compared for equality: that second tree
        # is pure cost (about 5 µs of server time per row written, and as much cache again).
        # The SQL-standard spelling of the same type does not get one (ADR 0021).
        if connection.vendor == "postgresql":
            return f"character varying({int(self.max_length or 64)})"
        return super().db_type(connection)

    def index_purpose(self) -> str:
        return self.purpose or f"{self.model._meta.label_lower}.{self.source}"

    def compute(self, plaintext: str) -> str:
        if not plaintext:
            return ""
        norm = NORMALIZERS[self.normalizer](plaintext)
        return default_sealer().blind_index(self.index_purpose(), norm)

    def pre_save(self, model_instance: Model, add: bool) -> str:
        value = self.compute(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value


class DropBlindIndexLikeIndexes(migrations.RunPython):
    """Drops the ``varchar_pattern_ops`` indexes Django created for the blind-index columns of
    ``app_label``'s models before ``BlindIndexField.db_type`` stopped it (PostgreSQL only; a
    database created afterwards has none, and this does nothing there)."""

    def __init__(self, app_label: str) -> None:
        super().__init__(self.drop, migrations.RunPython.noop, elidable=True)
        self.app_label = app_label

    def deconstruct(self) -> Any:
        return (self.__class__.__qualname__, [self.app_label], {})

    def drop(self, apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for model in apps.get_app_config(self.app_label).get_models():
            for f in model._meta.local_concrete_fields:
                # Historical models carry the field's class path, not our class.
                if type(f).__name__ != "BlindIndexField" or not (f.db_index or f.unique):
                    continue
                name = schema_editor._create_index_name(
                    model._meta.db_table, [f.column], suffix="_like"
                )
                schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def blind_index_for(model: type[Model], field_name: str, plaintext: str) -> str:
    """The blind-index value to filter ``field_name`` (a BlindIndexField) by."""
    field = model._meta.get_field(field_name)
    if not isinstance(field, BlindIndexField):
        raise TypeError(f"{model.__name__}.{field_name} is not a blind index")
    return field.compute(plaintext)


__all__ = [
    "PI",
    "SENSITIVE_PI",
    "BlindIndexField",
    "DecryptionError",
    "DropBlindIndexLikeIndexes",
    "EncryptedTextField",
    "PIClass",
    "blind_index_for",
    "classify",
    "not_personal",
    "personal_fields",
]
