"""The API's filter backend: django-filter, with dates the product cannot compute refused.

Why: ``?issued_from=0001-01-01`` or ``?start=9999-12-31T23:00:00-12:00`` parsed, then
overflowed in the time-zone arithmetic of the query (500). Every filterset of every
endpoint goes through this backend, so a date or instant outside
:mod:`billspree.core.limits` (in a plain filter or either end of a range filter) answers
400 naming the filter and giving the allowed range.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from billspree.core.limits import date_in_range, date_range_message


def _out_of_range(value: Any) -> bool:
    if isinstance(value, dt.date):
        return not date_in_range(value)
    if isinstance(value, slice):  # range filters clean to slice(start, stop)
        return any(_out_of_range(v) for v in (value.start, value.stop))
    if isinstance(value, list | tuple):
        return any(_out_of_range(v) for v in value)
    return False


class FilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        out_of_range = {name: [date_range_message()]
                        for name, value in filterset.form.cleaned_data.items()
                        if _out_of_range(value)}
        if out_of_range:
            raise ValidationError(out_of_range)
        return filterset.qs
