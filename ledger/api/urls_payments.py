"""REST endpoints of the ledger: payments (included by ``ledger/api_urls.py``)."""

urlpatterns: list = []
