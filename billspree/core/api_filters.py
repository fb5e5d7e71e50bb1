"""Query filters of the API that refuse what they cannot read.

django-filter reads an unknown boolean (``?enabled=null``, ``?enabled=yes please``) and an
empty typed value (``?type=``) as "no filter", so a typo silently answered the unfiltered
list: the integrator saw every gateway and believed they were the enabled ones. Here such
a value is a 400 naming the parameter, like any other invalid filter value.
"""

from __future__ import annotations

from django_filters import filters as df
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

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
        return super().filter_queryset(request, queryset, view)


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
