"""REST endpoints of the ledger: accounts (included by ``ledger/api_urls.py``)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from ledger.api import accounts as api

router = SimpleRouter()
router.register("accounts", api.AccountViewSet, basename="account")

urlpatterns = [
    path("aging/", api.AgingView.as_view(), name="aging"),
    *router.urls,
]
