"""The portal's date form fields: dates the product cannot compute are a form error.

Why: a date of year 1 or 9999 typed (or sent) into a portal form parsed, then overflowed
in period arithmetic (500). Every date field of every portal form is one of these (a test
walks the forms and fails on a plain ``forms.DateField``), so the form shows the allowed
range (:mod:`billspree.core.limits`) next to the field instead.
"""

from __future__ import annotations

from django import forms

from billspree.core.validators import validate_date_in_range


class BoundedDateField(forms.DateField):
    default_validators = [validate_date_in_range]


class BoundedDateTimeField(forms.DateTimeField):
    default_validators = [validate_date_in_range]
