"""Database expression helpers shared by the apps' models (PostgreSQL only)."""

from __future__ import annotations

from django.db import models
from django.db.models import Func


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
