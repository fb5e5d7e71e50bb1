"""The tenant portal's money pages, mounted at ``/my/`` (namespace ``my_ledger``)."""

from django.urls import include, path

app_name = "my_ledger"

urlpatterns = [
    path("", include("ledger.views.urls_my")),
]
