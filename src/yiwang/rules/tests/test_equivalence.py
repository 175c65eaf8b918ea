"""The per-entity evaluator and every bulk form (DuckDB SQL, Polars, numpy) agree on random
rules and random facts with missing values, verdicts and amounts alike."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiwang.rules import evaluate, parse_rule
from yiwang.rules.catalog import column_name
from yiwang.rules.lower import columns as rule_columns
from yiwang.rules.model import Rule

from .strategies import AS_OFS, CATALOG, entity, rule

duckdb = pytest.importorskip("duckdb")
pl = pytest.importorskip("polars")
np = pytest.importorskip("numpy")
sqlglot = pytest.importorskip("sqlglot")

from yiwang.rules import polars_backend, sql, vector  # noqa: E402

VERDICT = {True: "pass", False: "fail", None: "unknown"}


class _Stream:
    """Hands a Polars frame to DuckDB through the Arrow C stream (no pyarrow needed)."""

    def __init__(self, df: Any) -> None:
        self.df = df

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.df.__arrow_c_stream__(requested_schema)


def _table(r: Rule, as_of: dt.date, rows: list[dict[str, Any]]) -> Any:
    cols = rule_columns(r, as_of, review_columns=True)
    data = []
    for row in rows:
        data.append({c: row.get(c if c.startswith("review__") else _key(c)) for c in cols})
    return polars_backend.frame(data, cols)


def _key(col: str) -> str:
    from yiwang.rules.catalog import key_of_column

    return key_of_column(col)


def _reference(r: Rule, as_of: dt.date, rows: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    out = []
    for row in rows:
        facts = {k: v for k, v in row.items() if not k.startswith("review__") and v is not None}
        decisions = {
            k.split("__")[2]: v
            for k, v in row.items()
            if k.startswith("review__") and v is not None
        }
        e = evaluate(r, facts, as_of, decisions, normalized=True, trace=False)
        out.append((e.verdict, e.amount))
    return out


def _same_amount(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return False
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def _check(r: Rule, as_of: dt.date, rows: list[dict[str, Any]], pg: Any = None) -> None:
    expected = _reference(r, as_of, rows)
    df = _table(r, as_of, rows)
    has_amount = r.amount is not None

    # Polars
    out = polars_backend.evaluate_frame([r], df, as_of, review_columns=True)
    got_pl = out.get_column(r.id).to_list()
    amt_pl = out.get_column(f"{r.id}__amount").to_list() if has_amount else [None] * len(rows)

    # DuckDB
    con = duckdb.connect()
    con.register("facts", _Stream(df))
    q = sql.select_sql([r], as_of, dialect="duckdb", review_columns=True)
    res = con.execute(q).fetchall()
    got_db = [row[1] for row in res]
    amt_db = [row[2] for row in res] if has_amount else [None] * len(rows)

    # numpy sweep
    fa = vector.FactArrays.from_polars(df)
    sw = vector.sweep([r], fa, as_of, amounts=True, review_columns=True)
    got_np = [{1: True, 0: False, -1: None}[int(v)] for v in sw.verdicts(r.id)]
    amt_np = list(sw.amounts[r.id]) if has_amount else [None] * len(rows)
    counts = sw.counts()[r.id]

    for i, (verdict, amount) in enumerate(expected):
        ctx = f"entity {i}: {rows[i]}\nrule: {r.raw}\nsql: {q}"
        assert VERDICT[got_pl[i]] == verdict, f"polars {ctx}"
        assert VERDICT[got_db[i]] == verdict, f"duckdb {ctx}"
        assert VERDICT[got_np[i]] == verdict, f"numpy {ctx}"
        assert _same_amount(amount, amt_pl[i]), f"polars amount {amount} {amt_pl[i]} {ctx}"
        assert _same_amount(amount, amt_db[i]), f"duckdb amount {amount} {amt_db[i]} {ctx}"
        assert _same_amount(amount, amt_np[i]), f"numpy amount {amount} {amt_np[i]} {ctx}"
    assert counts["pass"] == sum(v == "pass" for v, _ in expected)
    assert counts["unknown"] == sum(v == "unknown" for v, _ in expected)

    if pg is not None:
        _check_postgres(pg, r, as_of, df, expected)


def _check_postgres(conn: Any, r: Rule, as_of: dt.date, df: Any, expected: list[Any]) -> None:
    cols = rule_columns(r, as_of, review_columns=True)
    types = dict(cols.items())
    with conn.transaction(force_rollback=True):
        conn.execute(
            sql.create_table_sql(types, dialect="postgres").replace(
                "CREATE TABLE", "CREATE TEMPORARY TABLE"
            )
        )
        names = ", ".join(['"entity_id"', *(f'"{c}"' for c in cols)])
        marks = ", ".join(["%s"] * (len(cols) + 1))
        with conn.cursor() as cur:
            cur.executemany(
                f'INSERT INTO "facts" ({names}) VALUES ({marks})',  # noqa: S608
                [tuple(row.values()) for row in df.iter_rows(named=True)],
            )
        q = sql.select_sql([r], as_of, dialect="postgres", review_columns=True)
        res = conn.execute(q + ' ORDER BY "entity_id"').fetchall()
    for i, (verdict, amount) in enumerate(expected):
        assert VERDICT[res[i][1]] == verdict, f"postgres entity {i}\n{q}"
        if r.amount is not None:
            assert _same_amount(amount, res[i][2]), f"postgres amount {amount} {res[i][2]}\n{q}"


def _check_atoms(r: Rule, as_of: dt.date, rows: list[dict[str, Any]]) -> None:
    """Each atom on its own, so that no atom's error hides behind the rest of the tree."""
    atoms = [a for a in r.atoms.values() if a.kind != "bonus"]
    for a in atoms:
        single = dataclasses.replace(r, when=a, bonus=(), amount=None)
        _check(single, as_of, rows)


@st.composite
def case(draw: st.DrawFn) -> tuple[Rule, dt.date, list[dict[str, Any]]]:
    raw = draw(rule())
    r = parse_rule(raw, CATALOG)
    as_of = draw(st.sampled_from(AS_OFS))
    review_ids = [a.id for a in r.atoms.values() if a.kind == "discretionary"]
    rows = draw(st.lists(entity(as_of, review_ids), min_size=1, max_size=12))
    return r, as_of, rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case())
def test_bulk_forms_agree_with_the_evaluator(c: tuple[Rule, dt.date, list[dict[str, Any]]]) -> None:
    _check(*c)
    _check_atoms(*c)


@pytest.fixture(scope="module")
def pg_conn() -> Any:
    url = os.environ.get("YIWANG_TEST_DATABASE_URL")
    if not url:
        pytest.skip("YIWANG_TEST_DATABASE_URL is not set")
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError:  # the named database may not exist yet: use the server's
        conn = psycopg.connect(url, dbname="postgres", autocommit=True)
    yield conn
    conn.close()


@pytest.mark.postgres
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case())
def test_postgres_agrees_with_the_evaluator(
    pg_conn: Any, c: tuple[Rule, dt.date, list[dict[str, Any]]]
) -> None:
    _check(*c, pg=pg_conn)


def test_column_names() -> None:
    assert column_name("revenue@FY2023") == "revenue__fy2023"
    assert column_name("founded_on") == "founded_on"
