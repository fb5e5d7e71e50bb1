"""What the tariffs app shows on pages of the apps below it (see billspree.core.panels)."""

from __future__ import annotations

from django.http import HttpRequest

from billspree.core.panels import Panel
from tariffs.models import BillingPointRateList


def billing_point(request: HttpRequest, obj) -> list[Panel]:
    """The billing point's own rate lists, which override its plan's."""
    overrides = list(
        BillingPointRateList.objects.filter(billing_point=obj).select_related("rate_list")
    )
    return [
        Panel(
            "Own rates",
            "tariffs/_billing_point_panel.html",
            {"overrides": overrides, "billing_point": obj},
        )
    ]
