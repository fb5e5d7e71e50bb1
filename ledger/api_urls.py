"""REST endpoints of the ledger, mounted under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("ledger.api.urls_accounts")),
    path("", include("ledger.api.urls_payments")),
    path("", include("ledger.api.urls_bank")),
    path("", include("ledger.api.urls_dunning")),
    path("", include("ledger.api.urls_summaries")),
]
