"""Portal pages of the ledger: finance (included by ``ledger/urls.py``)."""

urlpatterns: list = []
