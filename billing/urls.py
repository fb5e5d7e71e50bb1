from django.urls import path

from billing.views import batches as batch_views
from billing.views import invoices as views
from billing.views import runs as run_views
from billing.views import statements as statement_views

app_name = "billing"

urlpatterns = [
    path("", views.InvoiceListView.as_view(), name="index"),
    path("invoices/<uuid:id>/", views.InvoiceDetailView.as_view(), name="invoice_detail"),
    path("invoices/<uuid:id>/issue/", views.InvoiceIssueView.as_view(), name="invoice_issue"),
    path("invoices/<uuid:id>/pay/", views.InvoicePayView.as_view(), name="invoice_pay"),
    path("invoices/<uuid:id>/recompute/", views.InvoiceRecomputeView.as_view(),
         name="invoice_recompute"),
    path("invoices/<uuid:id>/void/", views.InvoiceVoidView.as_view(), name="invoice_void"),
    path("invoices/<uuid:id>/credit-note/", views.CreditNoteCreateView.as_view(),
         name="invoice_credit_note"),
    path("invoices/<uuid:id>/credit-adjustments/", views.AdjustmentCreditView.as_view(),
         name="invoice_credit_adjustments"),
    path("invoices/<uuid:id>/lines/", views.InvoiceLineAddView.as_view(), name="line_add"),
    path("lines/<uuid:id>/remove/", views.InvoiceLineRemoveView.as_view(), name="line_remove"),
    path("credit-notes/<uuid:id>/", views.CreditNoteDetailView.as_view(),
         name="credit_note_detail"),
    path("credit-notes/<uuid:id>/pdf/", views.CreditNotePdfView.as_view(),
         name="credit_note_pdf"),
    path("credit-notes/<uuid:id>/send/", views.CreditNoteSendView.as_view(),
         name="credit_note_send"),
    path("subscriptions/", views.SubscriptionListView.as_view(), name="subscription_list"),
    path("subscriptions/new/", views.SubscriptionFormView.as_view(), name="subscription_create"),
    path("subscriptions/<uuid:id>/edit/", views.SubscriptionFormView.as_view(),
         name="subscription_edit"),
    path("preview/", views.PreviewView.as_view(), name="preview"),
    # billing batches and bill runs
    path("batches/", batch_views.BatchListView.as_view(), name="batch_list"),
    path("batches/new/", batch_views.BatchFormView.as_view(), name="batch_create"),
    path("batches/<uuid:id>/", batch_views.BatchDetailView.as_view(), name="batch_detail"),
    path("batches/<uuid:id>/edit/", batch_views.BatchFormView.as_view(), name="batch_edit"),
    path("batches/<uuid:id>/delete/", batch_views.BatchDeleteView.as_view(), name="batch_delete"),
    path("batches/<uuid:id>/subscriptions/", batch_views.BatchSubscriptionsView.as_view(),
         name="batch_subscriptions"),
    path("batches/<uuid:id>/start/", run_views.RunStartView.as_view(), name="run_start"),
    path("runs/", run_views.RunListView.as_view(), name="run_list"),
    path("runs/<uuid:id>/", run_views.RunDetailView.as_view(), name="run_detail"),
    path("runs/<uuid:id>/progress/", run_views.RunProgressView.as_view(), name="run_progress"),
    path("runs/<uuid:id>/issue/", run_views.RunIssueView.as_view(), name="run_issue"),
    path("runs/<uuid:id>/cancel/", run_views.RunCancelView.as_view(), name="run_cancel"),
    path("runs/<uuid:id>/recompute/", run_views.RunRecomputeView.as_view(),
         name="run_recompute"),
    path("runs/<uuid:id>/resume/", run_views.RunResumeView.as_view(), name="run_resume"),
    path("run-items/<uuid:id>/retry/", run_views.RunItemRetryView.as_view(),
         name="run_item_retry"),
    # PDF statements and their emails
    path("invoices/<uuid:id>/statement/", statement_views.StatementPanelView.as_view(),
         name="statement_panel"),
    path("invoices/<uuid:id>/statement/pdf/", statement_views.StatementDownloadView.as_view(),
         name="statement_download"),
    path("invoices/<uuid:id>/statement/regenerate/",
         statement_views.StatementRegenerateView.as_view(), name="statement_regenerate"),
    path("invoices/<uuid:id>/send/", statement_views.StatementSendView.as_view(),
         name="statement_send"),
    path("building-statements/", statement_views.BuildingStatementListView.as_view(),
         name="building_statement_list"),
    path("building-statements/<uuid:id>/pdf/",
         statement_views.BuildingStatementDownloadView.as_view(),
         name="building_statement_download"),
]
