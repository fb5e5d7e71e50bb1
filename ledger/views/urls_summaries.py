"""Portal pages of the ledger: parent summaries (included by ``ledger/urls.py``)."""

from django.urls import path

from ledger.views import summaries as views

urlpatterns = [
    path("summaries/", views.SummaryListView.as_view(), name="summary_list"),
    path("summaries/new/", views.SummaryCreateView.as_view(), name="summary_create"),
    path("summaries/<uuid:id>/", views.SummaryDetailView.as_view(), name="summary_detail"),
    path("summaries/<uuid:id>/summary.pdf", views.SummaryPdfView.as_view(),
         name="summary_pdf"),
]
