"""REST endpoints of the ledger: bank (included by ``ledger/api_urls.py``)."""

urlpatterns: list = []
