"""The tenant portal's money pages (included by ``ledger/tenant_portal_urls.py``)."""

from django.urls import path

from ledger.views import dunning_my
from ledger.views import my as views
from ledger.views.summaries import MySummaryPdfView

urlpatterns = [
    path("account/", views.AccountView.as_view(), name="account"),
    path("account/card/", views.BalanceCardView.as_view(), name="card"),
    path("account/<uuid:id>/statement.pdf", views.StatementPdfView.as_view(),
         name="statement_pdf"),
    path("account/summaries/<uuid:id>.pdf", MySummaryPdfView.as_view(), name="summary_pdf"),
    path("account/reminders/<uuid:id>/letter.pdf", dunning_my.MyReminderLetterView.as_view(),
         name="reminder_letter"),
]
