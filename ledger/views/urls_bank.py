"""Portal pages of the ledger: bank (included by ``ledger/urls.py``)."""

urlpatterns: list = []
