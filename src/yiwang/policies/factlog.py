"""The fact change log: database triggers that record every write which may change an
organisation's facts in ``policies_factchange`` (model ``FactChange``).

Triggers, not Django signals, because facts and registry rows are also written by
``bulk_create``, ``QuerySet.update``, cascades and SQL; a trigger sees all of them. Watched:

- enterprise facts: every insert, update and delete (the old and the new organisation);
- organisations: insert, delete, and updates of the columns the profile reads (kind, status,
  industry, size, founding date, capital, grid, place);
- places whose grid changes, and grids whose community changes (their organisations);
- divisions whose code changes, and TRUNCATE of the fact or organisation table: a row with
  no organisation, meaning "re-read everything".

PostgreSQL gets statement-level triggers over transition tables (one log row per
organisation per statement, with the transaction id); SQLite row-level triggers. Installed by
migration 0002 and re-installed by ``factstore`` if they go missing (SQLite drops a table's
triggers when a later migration rebuilds the table). See docs/adr/0018-policy-fact-columns.md.
"""

# ruff: noqa: S608 - the SQL is built from the models' table names only, never from input

from __future__ import annotations

from typing import Any

PREFIX = "yiwang_factlog_"

# (trigger suffix, table key, event) — the names ``installed`` checks for
_PG_TRIGGERS = [
    ("fact_ins", "fact", "INSERT"),
    ("fact_upd", "fact", "UPDATE"),
    ("fact_del", "fact", "DELETE"),
    ("fact_trunc", "fact", "TRUNCATE"),
    ("org_ins", "org", "INSERT"),
    ("org_upd", "org", "UPDATE"),
    ("org_del", "org", "DELETE"),
    ("org_trunc", "org", "TRUNCATE"),
    ("place_upd", "place", "UPDATE"),
    ("grid_upd", "grid", "UPDATE"),
    ("division_upd", "division", "UPDATE"),
]
_SQLITE_TRIGGERS = [
    "fact_ins",
    "fact_upd",
    "fact_del",
    "org_ins",
    "org_upd",
    "org_del",
    "place_upd",
    "grid_upd",
    "division_upd",
]
ORG_COLUMNS = (
    "kind",
    "status",
    "industry_code",
    "size_class",
    "founded_on",
    "registered_capital",
    "grid_id",
    "place_id",
)


def tables(apps: Any = None) -> dict[str, str]:
    """The database tables involved (from the models, or the migration state's ``apps``)."""
    if apps is None:
        from django.apps import apps as registry

        apps = registry
    return {
        "log": apps.get_model("policies", "FactChange")._meta.db_table,
        "fact": apps.get_model("policies", "EnterpriseFact")._meta.db_table,
        "org": apps.get_model("registry", "Organisation")._meta.db_table,
        "place": apps.get_model("registry", "Place")._meta.db_table,
        "grid": apps.get_model("grid", "Grid")._meta.db_table,
        "division": apps.get_model("accounts", "Division")._meta.db_table,
    }


def names(vendor: str) -> list[str]:
    suffixes = [s for s, _t, _e in _PG_TRIGGERS] if vendor == "postgresql" else _SQLITE_TRIGGERS
    return [PREFIX + s for s in suffixes]


def _pg_sql(t: dict[str, str]) -> list[str]:
    log = t["log"]
    ins = f"INSERT INTO {log} (organisation_id, txid, tok, created_at) "
    stamp = "pg_current_xact_id()::text::bigint, (random() * 4e18)::bigint, now()"
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in ORG_COLUMNS)
    bodies = {
        "fact_ins": f"{ins}SELECT DISTINCT organisation_id, {stamp} FROM yiwang_new",
        "fact_del": f"{ins}SELECT DISTINCT organisation_id, {stamp} FROM yiwang_old",
        "fact_upd": (
            f"{ins}SELECT DISTINCT organisation_id, {stamp} FROM "
            "(SELECT organisation_id FROM yiwang_new "
            "UNION SELECT organisation_id FROM yiwang_old) x"
        ),
        "org_ins": f"{ins}SELECT id, {stamp} FROM yiwang_new",
        "org_del": f"{ins}SELECT id, {stamp} FROM yiwang_old",
        "org_upd": (
            f"{ins}SELECT n.id, {stamp} FROM yiwang_new n JOIN yiwang_old o ON o.id = n.id "
            f"WHERE {changed}"
        ),
        "place_upd": (
            f"{ins}SELECT g.id, {stamp} FROM {t['org']} g WHERE g.place_id IN "
            "(SELECT n.id FROM yiwang_new n JOIN yiwang_old o ON o.id = n.id "
            "WHERE n.grid_id IS DISTINCT FROM o.grid_id)"
        ),
        "grid_upd": (
            f"{ins}SELECT g.id, {stamp} FROM {t['org']} g WHERE g.grid_id IN (SELECT id FROM c) "
            f"OR g.place_id IN (SELECT p.id FROM {t['place']} p WHERE p.grid_id IN "
            "(SELECT id FROM c))"
        ),
        "division_upd": (
            f"{ins}SELECT NULL, {stamp} WHERE EXISTS (SELECT 1 FROM yiwang_new n "
            "JOIN yiwang_old o ON o.id = n.id WHERE n.code IS DISTINCT FROM o.code)"
        ),
        "fact_trunc": f"{ins}SELECT NULL, {stamp}",
        "org_trunc": f"{ins}SELECT NULL, {stamp}",
    }
    bodies["grid_upd"] = (
        "WITH c AS (SELECT n.id FROM yiwang_new n JOIN yiwang_old o ON o.id = n.id "
        "WHERE n.community_id IS DISTINCT FROM o.community_id) " + bodies["grid_upd"]
    )
    out = []
    for suffix, table, event in _PG_TRIGGERS:
        name = PREFIX + suffix
        out.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {bodies[suffix]}; RETURN NULL; END $$"
        )
        if event == "TRUNCATE":
            refs = ""
        elif event == "INSERT":
            refs = "REFERENCING NEW TABLE AS yiwang_new "
        elif event == "DELETE":
            refs = "REFERENCING OLD TABLE AS yiwang_old "
        else:
            refs = "REFERENCING OLD TABLE AS yiwang_old NEW TABLE AS yiwang_new "
        out.append(
            f"CREATE OR REPLACE TRIGGER {name} AFTER {event} ON {t[table]} {refs}"
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    return out


def _sqlite_sql(t: dict[str, str]) -> list[str]:
    log = t["log"]

    def ins(org: str) -> str:
        return (
            f"INSERT INTO {log} (organisation_id, txid, tok, created_at) "
            f"VALUES ({org}, NULL, random(), strftime('%Y-%m-%d %H:%M:%f', 'now'));"
        )

    def ins_select(where: str) -> str:
        return (
            f"INSERT INTO {log} (organisation_id, txid, tok, created_at) "
            f"SELECT id, NULL, random(), strftime('%Y-%m-%d %H:%M:%f', 'now') "
            f"FROM {t['org']} WHERE {where};"
        )

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ORG_COLUMNS)
    spec = {
        "fact_ins": (f"AFTER INSERT ON {t['fact']}", ins("NEW.organisation_id")),
        "fact_upd": (
            f"AFTER UPDATE ON {t['fact']}",
            ins("NEW.organisation_id")
            + f" INSERT INTO {log} (organisation_id, txid, tok, created_at) SELECT "
            "OLD.organisation_id, NULL, random(), strftime('%Y-%m-%d %H:%M:%f', 'now') "
            "WHERE OLD.organisation_id IS NOT NEW.organisation_id;",
        ),
        "fact_del": (f"AFTER DELETE ON {t['fact']}", ins("OLD.organisation_id")),
        "org_ins": (f"AFTER INSERT ON {t['org']}", ins("NEW.id")),
        "org_upd": (f"AFTER UPDATE ON {t['org']} WHEN {changed}", ins("NEW.id")),
        "org_del": (f"AFTER DELETE ON {t['org']}", ins("OLD.id")),
        "place_upd": (
            f"AFTER UPDATE OF grid_id ON {t['place']} WHEN OLD.grid_id IS NOT NEW.grid_id",
            ins_select("place_id = NEW.id"),
        ),
        "grid_upd": (
            f"AFTER UPDATE OF community_id ON {t['grid']} "
            "WHEN OLD.community_id IS NOT NEW.community_id",
            ins_select(
                f"grid_id = NEW.id OR place_id IN (SELECT id FROM {t['place']} "
                "WHERE grid_id = NEW.id)"
            ),
        ),
        "division_upd": (
            f"AFTER UPDATE OF code ON {t['division']} WHEN OLD.code IS NOT NEW.code",
            ins("NULL"),
        ),
    }
    out = []
    for suffix, (event, body) in spec.items():
        on, _sep, cond = event.partition(" WHEN ")
        when = f" WHEN {cond}" if cond else ""
        out.append(
            f"CREATE TRIGGER IF NOT EXISTS {PREFIX}{suffix} {on} FOR EACH ROW{when} "
            f"BEGIN {body} END"
        )
    return out


def install(connection: Any, apps: Any = None) -> None:
    """Create (or replace) the triggers on ``connection``'s database."""
    t = tables(apps)
    if connection.vendor == "postgresql":
        statements = _pg_sql(t)
    elif connection.vendor == "sqlite":
        statements = _sqlite_sql(t)
    else:  # pragma: no cover - the project supports SQLite and PostgreSQL
        raise NotImplementedError(f"no fact change triggers for {connection.vendor}")
    with connection.cursor() as cur:
        for sql in statements:
            cur.execute(sql)


def uninstall(connection: Any) -> None:
    t = tables()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for suffix, table, _e in _PG_TRIGGERS:
                cur.execute(f"DROP TRIGGER IF EXISTS {PREFIX}{suffix} ON {t[table]}")
                cur.execute(f"DROP FUNCTION IF EXISTS {PREFIX}{suffix}()")
        else:
            for suffix in _SQLITE_TRIGGERS:
                cur.execute(f"DROP TRIGGER IF EXISTS {PREFIX}{suffix}")


def installed(connection: Any) -> bool:
    """Whether every trigger is in place (one catalog query)."""
    wanted = names(connection.vendor)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname = ANY(%s)",
                [wanted],
            )
        else:
            marks = ", ".join(["%s"] * len(wanted))
            cur.execute(
                f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})",
                wanted,
            )
        return int(cur.fetchone()[0]) == len(wanted)
