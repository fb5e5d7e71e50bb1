"""Portal pages of the ledger: payments (included by ``ledger/urls.py``)."""

urlpatterns: list = []
