"""Database expression helpers shared by the apps' models (PostgreSQL only)."""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, models
from django.db.models import Func, Lookup


class TstzRange(Func):
    """``tstzrange(start, end)``: half-open ``[start, end)``, a NULL end = unbounded.

    Used in exclusion constraints (``RangeOperators.OVERLAPS``) so that the database
    refuses two overlapping periods. Older migrations refer to it as
    ``meters.models.TstzRange``, ``tenants.models.TstzRange`` and
    ``billing.models.TstzRange``; those modules re-export this one class, so the
    constraints compare equal and ``makemigrations`` sees no change.
    """

    function = "TSTZRANGE"
    output_field = models.DateTimeField()


class AnyOf(Lookup):
    """``field__any=[…]``: ``field = ANY(%s)``, the list sent as one array parameter.

    ``__in`` with a bank file's 100,000 references prepares and renders each value on its
    own (``IN (%s, %s, …)``); one array is one parameter for the driver and one plan for
    PostgreSQL. Registered on every field by the core app (``CoreConfig.ready``)."""

    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [list(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def insert_many(objs: list, fields: tuple[str, ...]) -> None:
    """INSERT ``objs`` (unsaved instances of one model with a ``public_id``) in one
    statement over ``unnest`` arrays, setting their primary keys.

    Hot paths (a 100,000-line bank file) spent more time in ``bulk_create`` building its
    multi-row SQL than PostgreSQL spent inserting. ``RETURNING`` has no guaranteed order,
    so ids come back by public id. ``fields`` are attribute names (``account_id``)."""
    if not objs:
        return
    from django.db import connection

    model = type(objs[0])
    meta = model._meta
    columns, types = [], []
    for name in ("public_id", *fields):
        field = meta.get_field(name.removesuffix("_id")) if name.endswith("_id") and \
            name != "public_id" else meta.get_field(name)
        columns.append(field.column)
        db_type = field.target_field.db_type(connection) if field.is_relation \
            else field.db_type(connection)
        types.append({"serial": "integer", "bigserial": "bigint"}.get(db_type, db_type)
                     .split("(")[0])
    values = [[_adapt(getattr(o, name)) for o in objs] for name in ("public_id", *fields)]
    sql = (f"INSERT INTO {meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - model metadata
           f"SELECT * FROM unnest({', '.join(f'%s::{t}[]' for t in types)}) "
           f"RETURNING {meta.pk.column}, public_id")
    with connection.cursor() as cur:
        cur.execute(sql, values)
        ids = {public_id: pk for pk, public_id in cur.fetchall()}
    for o in objs:
        o.pk = ids[o.public_id]
        o._state.adding = False
        o._state.db = "default"


def _adapt(value):
    """Values psycopg2 puts in an array as the column wants them (a currency is text)."""
    if value is None or isinstance(value, (int, str, bool)):
        return value
    name = type(value).__name__
    return str(value) if name == "Currency" else value


def next_ids(table: str, n: int) -> list[int]:
    """``n`` fresh primary keys of ``table`` (its identity sequence), for rows written by
    :func:`copy_rows`, which returns none."""
    if n <= 0:
        return []
    with connection.cursor() as cur:
        cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                    "FROM generate_series(1, %s)", [table, n])
        return [r[0] for r in cur.fetchall()]


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Write ``rows`` with ``COPY … FROM STDIN`` (text format); returns how many.

    A bank file of 100,000 lines is several tables of 100,000 rows: ``COPY`` is the
    fastest way PostgreSQL takes rows in, and it fires the same triggers (row and
    statement, with transition tables) and checks the same constraints as ``INSERT``.
    ``table`` and ``columns`` come from code, never from input."""
    buf = io.StringIO()
    n = 0
    for row in rows:
        buf.write("\t".join([_copy_text(v) for v in row]))
        buf.write("\n")
        n += 1
    if not n:
        return 0
    buf.seek(0)
    # Django wraps execute() errors (a unique violation is an IntegrityError), not COPY's
    with connection.cursor() as cur, connection.wrap_database_errors:
        cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buf)
    return n


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _aware(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value} (time is aware everywhere)")
    return value.isoformat()


#: COPY's text for the types rows carry, by exact type (a dict lookup per value: a
#: 100,000-line file is millions of values)
_COPY_BY_TYPE = {int: str, Decimal: str, date: date.isoformat, datetime: _aware,
                 uuid.UUID: str, bool: lambda v: "t" if v else "f"}


def _copy_text(value) -> str:
    """One value in COPY's text format: NULL is ``\\N``, text is escaped."""
    if value is None:
        return "\\N"
    convert = _COPY_BY_TYPE.get(type(value))
    if convert is not None:
        return convert(value)
    if isinstance(value, str):  # str and its subclasses (choices)
        return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else str(value)
    if isinstance(value, datetime):
        return _aware(value)
    return str(value)  # Currency, date subclasses


def uuid4_texts(n: int) -> list[str]:
    """``n`` random (version 4) UUIDs as text, for public ids of rows written by
    :func:`copy_rows` — one read of the system's randomness, not one per row."""
    raw = os.urandom(16 * n)
    out = []
    for i in range(0, 16 * n, 16):
        b = bytearray(raw[i:i + 16])
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        h = b.hex()
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out
