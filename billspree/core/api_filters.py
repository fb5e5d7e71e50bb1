"""Query filters of the API that refuse what they cannot read.

django-filter reads an unknown boolean (``?enabled=null``, ``?enabled=yes please``) and an
empty typed value (``?type=``) as "no filter", so a typo silently answered the unfiltered
list: the integrator saw every gateway and believed they were the enabled ones. Here such
a value is a 400 naming the parameter, like any other invalid filter value.

Dates too: ``?issued_from=0001-01-01`` or ``?start=9999-12-31T23:00:00-12:00`` parsed,
then overflowed in the time-zone arithmetic of the query (500). A date or instant outside
:mod:`billspree.core.limits` (a plain filter or either end of a range filter) is a 400
naming the filter and giving the allowed range.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_filters import filters as df
from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from billspree.core.limits import date_in_range, date_range_message

BOOLEAN_WORDS = {"true": True, "false": False}
#: Filters whose value has a type, so an empty one is not a value (a text filter's empty
#: string is a value, and means "no filter").
TYPED = (df.BooleanFilter, df.NumberFilter, df.DateFilter, df.DateTimeFilter, df.TimeFilter,
         df.ChoiceFilter, df.UUIDFilter, df.ModelChoiceFilter)


class StrictFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is not None:
            errors = _unreadable_values(filterset.filters, request.query_params)
            if errors:
                raise ValidationError(errors)
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


def _out_of_range(value: Any) -> bool:
    if isinstance(value, dt.date):
        return not date_in_range(value)
    if isinstance(value, slice):  # range filters clean to slice(start, stop)
        return any(_out_of_range(v) for v in (value.start, value.stop))
    if isinstance(value, list | tuple):
        return any(_out_of_range(v) for v in value)
    return False


def _unreadable_values(filters: dict, params) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, filter_ in filters.items():
        if name not in params or not isinstance(filter_, TYPED):
            continue
        for raw in params.getlist(name):
            if raw.strip() == "":
                errors[name] = [f"Give a value for {name}, or leave the parameter out."]
            elif isinstance(filter_, df.BooleanFilter) and raw.lower() not in BOOLEAN_WORDS:
                errors[name] = [f"{name} is true or false, not “{raw[:40]}”."]
    return errors
