"""Portal pages of the ledger: dunning (included by ``ledger/urls.py``)."""

urlpatterns: list = []
