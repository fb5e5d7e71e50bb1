"""REST endpoints of the billing app, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import invoices as api

router = SimpleRouter()
router.register("subscriptions", api.SubscriptionViewSet, basename="subscription")
router.register("invoices", api.InvoiceViewSet, basename="invoice")
router.register("credit-notes", api.CreditNoteViewSet, basename="credit-note")

urlpatterns = [
    path("invoices/preview/", api.InvoicePreviewView.as_view(), name="invoice-preview"),
    path("invoices/<uuid:id>/issue/", api.InvoiceIssueView.as_view(), name="invoice-issue"),
    path("invoices/<uuid:id>/pay/", api.InvoicePayView.as_view(), name="invoice-pay"),
    path("invoices/<uuid:id>/void/", api.InvoiceVoidView.as_view(), name="invoice-void"),
    path("invoices/<uuid:id>/credit-note/", api.InvoiceCreditNoteView.as_view(),
         name="invoice-credit-note"),
    path("invoices/<uuid:id>/lines/", api.InvoiceLineAddView.as_view(), name="invoice-line-add"),
    path("invoice-lines/<uuid:id>/", api.InvoiceLineDeleteView.as_view(),
         name="invoice-line-delete"),
    *router.urls,
]
