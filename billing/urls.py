from django.urls import path

from billing.views import invoices as views

app_name = "billing"

urlpatterns = [
    path("", views.InvoiceListView.as_view(), name="index"),
    path("invoices/<uuid:id>/", views.InvoiceDetailView.as_view(), name="invoice_detail"),
    path("invoices/<uuid:id>/issue/", views.InvoiceIssueView.as_view(), name="invoice_issue"),
    path("invoices/<uuid:id>/pay/", views.InvoicePayView.as_view(), name="invoice_pay"),
    path("invoices/<uuid:id>/void/", views.InvoiceVoidView.as_view(), name="invoice_void"),
    path("invoices/<uuid:id>/credit-note/", views.CreditNoteCreateView.as_view(),
         name="invoice_credit_note"),
    path("invoices/<uuid:id>/lines/", views.InvoiceLineAddView.as_view(), name="line_add"),
    path("lines/<uuid:id>/remove/", views.InvoiceLineRemoveView.as_view(), name="line_remove"),
    path("credit-notes/<uuid:id>/", views.CreditNoteDetailView.as_view(),
         name="credit_note_detail"),
    path("subscriptions/", views.SubscriptionListView.as_view(), name="subscription_list"),
    path("subscriptions/new/", views.SubscriptionFormView.as_view(), name="subscription_create"),
    path("subscriptions/<uuid:id>/edit/", views.SubscriptionFormView.as_view(),
         name="subscription_edit"),
    path("preview/", views.PreviewView.as_view(), name="preview"),
]
