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
