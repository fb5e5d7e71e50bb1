"""REST endpoints of the billing app, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import credit_notes as credit_api
from billing.api import invoices as api
from billing.api import runs as run_api
from billing.api import statements as statement_api
from billing.api import subscriptions as subscription_api

router = SimpleRouter()
router.register("subscriptions", subscription_api.SubscriptionViewSet, basename="subscription")
router.register("invoices", api.InvoiceViewSet, basename="invoice")
router.register("credit-notes", credit_api.CreditNoteViewSet, basename="credit-note")
router.register("building-statements", statement_api.BuildingStatementViewSet,
                basename="building-statement")
router.register("billing-batches", run_api.BatchViewSet, basename="billing-batch")
router.register("bill-runs", run_api.RunViewSet, basename="bill-run")

urlpatterns = [
    path("invoices/preview/", api.InvoicePreviewView.as_view(), name="invoice-preview"),
    path("invoices/<uuid:id>/issue/", api.InvoiceIssueView.as_view(), name="invoice-issue"),
    path("invoices/<uuid:id>/pay/", api.InvoicePayView.as_view(), name="invoice-pay"),
    path("invoices/<uuid:id>/recompute/", api.InvoiceRecomputeView.as_view(),
         name="invoice-recompute"),
    path("invoices/<uuid:id>/void/", api.InvoiceVoidView.as_view(), name="invoice-void"),
    path("invoices/<uuid:id>/credit-note/", credit_api.InvoiceCreditNoteView.as_view(),
         name="invoice-credit-note"),
    path("invoices/<uuid:id>/credit-adjustments/",
         credit_api.InvoiceAdjustmentCreditView.as_view(), name="invoice-credit-adjustments"),
    path("invoices/<uuid:id>/rebill/", credit_api.InvoiceRebillView.as_view(),
         name="invoice-rebill"),
    path("invoices/<uuid:id>/lines/", api.InvoiceLineAddView.as_view(), name="invoice-line-add"),
    path("invoice-lines/<uuid:id>/", api.InvoiceLineDeleteView.as_view(),
         name="invoice-line-delete"),
    path("invoices/<uuid:id>/statement/", statement_api.InvoiceStatementView.as_view(),
         name="invoice-statement"),
    path("invoices/<uuid:id>/statement/pdf/", statement_api.InvoiceStatementPdfView.as_view(),
         name="invoice-statement-pdf"),
    path("invoices/<uuid:id>/statement/regenerate/",
         statement_api.InvoiceStatementRegenerateView.as_view(),
         name="invoice-statement-regenerate"),
    path("invoices/<uuid:id>/send/", statement_api.InvoiceSendView.as_view(),
         name="invoice-send"),
    path("credit-notes/<uuid:id>/pdf/", statement_api.CreditNotePdfView.as_view(),
         name="credit-note-pdf"),
    path("credit-notes/<uuid:id>/send/", statement_api.CreditNoteSendView.as_view(),
         name="credit-note-send"),
    path("building-statements/<uuid:id>/pdf/", statement_api.BuildingStatementPdfView.as_view(),
         name="building-statement-pdf"),
    path("billing-batches/<uuid:id>/runs/", run_api.BatchRunsView.as_view(),
         name="billing-batch-runs"),
    path("bill-run-items/<uuid:id>/retry/", run_api.ItemRetryView.as_view(),
         name="bill-run-item-retry"),
    *router.urls,
]
