"""Portal pages of the ledger, mounted at ``/ledger/`` (namespace ``ledger``). Each concern
has its own url module so they grow apart."""

from django.urls import include, path

app_name = "ledger"

urlpatterns = [
    path("", include("ledger.views.urls_accounts")),
    path("", include("ledger.views.urls_payments")),
    path("", include("ledger.views.urls_bank")),
    path("", include("ledger.views.urls_dunning")),
    path("", include("ledger.views.urls_finance")),
    path("", include("ledger.views.urls_summaries")),
]
