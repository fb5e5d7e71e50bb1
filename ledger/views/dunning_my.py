"""The tenant portal's reminders (``/my/``): the letter of one of the tenant's reminders.
The list is on the account page (``ledger/views/my.py`` reads it through the tenant scope
``ledger_dunning_notice``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import View

from ledger.selectors import dunning as _scopes  # noqa: F401  (registers the tenant scope)
from ledger.views.dunning import letter_response
from tenants.portal import TenantPortalMixin


class MyReminderLetterView(TenantPortalMixin, View):
    scope = "ledger_dunning_notice"

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        return letter_response(self.get_object())
