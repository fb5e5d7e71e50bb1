"""REST endpoints of the ledger: accounts (included by ``ledger/api_urls.py``)."""

urlpatterns: list = []
