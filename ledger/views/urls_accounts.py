"""Portal pages of the ledger: accounts (included by ``ledger/urls.py``)."""

from django.urls import path

from ledger.views import accounts as views

urlpatterns = [
    path("accounts/", views.AccountListView.as_view(), name="account_list"),
    path("accounts/<uuid:id>/", views.AccountDetailView.as_view(), name="account_detail"),
    path("accounts/<uuid:id>/statement/", views.AccountStatementView.as_view(),
         name="account_statement"),
    path("accounts/<uuid:id>/statement.pdf", views.AccountStatementView.as_view(pdf=True),
         name="account_statement_pdf"),
]
