"""Portal pages of the ledger: finance (included by ``ledger/urls.py``)."""

from django.urls import path

from ledger.views import finance as views

urlpatterns = [
    path("", views.FinanceView.as_view(), name="finance"),
    path("entries/", views.EntryListView.as_view(), name="entry_list"),
]
