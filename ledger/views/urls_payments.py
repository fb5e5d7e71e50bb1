"""Portal pages of the ledger: payments (included by ``ledger/urls.py``)."""

from django.urls import path

from ledger.views import payments as views

urlpatterns = [
    path("payments/", views.PaymentListView.as_view(), name="payment_list"),
    path("accounts/<uuid:id>/payments/new/", views.PaymentRecordView.as_view(),
         name="payment_record"),
    path("accounts/<uuid:id>/entries/new/", views.EntryBookView.as_view(), name="entry_book"),
    path("payments/<uuid:id>/reverse/", views.PaymentReverseView.as_view(),
         name="payment_reverse"),
]
