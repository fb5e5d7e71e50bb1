"""REST endpoints of the ledger: bank files (included by ``ledger/api_urls.py``)."""

from rest_framework.routers import SimpleRouter

from ledger.api import bank as api

router = SimpleRouter()
router.register("bank-imports", api.BankImportViewSet, basename="bank-import")
router.register("bank-lines", api.BankLineViewSet, basename="bank-line")

urlpatterns = [*router.urls]
