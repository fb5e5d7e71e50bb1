"""Portal pages of the ledger: accounts (included by ``ledger/urls.py``)."""

urlpatterns: list = []
