"""The tenant portal's billing pages, mounted at ``/my/`` (namespace ``my_billing``)."""

from django.urls import path

from billing.views import tenant_portal as views

app_name = "my_billing"

urlpatterns = [
    path("invoices/", views.InvoiceListView.as_view(), name="invoices"),
    path("invoices/latest/", views.LatestInvoicesView.as_view(), name="latest"),
    path("invoices/<uuid:id>/", views.InvoiceDetailView.as_view(), name="invoice"),
    path("invoices/<uuid:id>/statement.pdf", views.StatementDownloadView.as_view(),
         name="statement"),
    path("credit-notes/<uuid:id>/credit-note.pdf", views.CreditNoteDownloadView.as_view(),
         name="credit_note"),
]
