"""The tenant portal's money pages (included by ``ledger/tenant_portal_urls.py``)."""

urlpatterns: list = []
