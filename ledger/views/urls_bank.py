"""Portal pages of the ledger: bank files (included by ``ledger/urls.py``)."""

from django.urls import path

from ledger.views import bank as views

urlpatterns = [
    path("bank/", views.BankImportListView.as_view(), name="bank_imports"),
    path("bank/review/", views.BankReviewView.as_view(), name="bank_review"),
    path("bank/<uuid:id>/", views.BankImportDetailView.as_view(), name="bank_import_detail"),
    path("bank/lines/<uuid:id>/match/", views.BankLineMatchView.as_view(),
         name="bank_line_match"),
]
