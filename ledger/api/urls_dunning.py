"""REST endpoints of the ledger: dunning (included by ``ledger/api_urls.py``)."""

urlpatterns: list = []
