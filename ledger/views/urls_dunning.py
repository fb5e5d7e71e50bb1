"""Portal pages of the ledger: dunning (included by ``ledger/urls.py``)."""

from django.urls import path

from ledger.views import dunning as views
from ledger.views import dunning_runs as runs

urlpatterns = [
    path("reminders/", views.DunningDueView.as_view(), name="dunning_due"),
    path("reminders/send/", runs.DunningSendView.as_view(), name="dunning_send"),
    path("reminders/runs/", runs.DunningRunListView.as_view(), name="dunning_runs"),
    path("reminders/runs/<uuid:id>/", runs.DunningRunDetailView.as_view(), name="dunning_run"),
    path("reminders/runs/<uuid:id>/progress/", runs.DunningRunProgressView.as_view(),
         name="dunning_run_progress"),
    path("reminders/sent/", views.DunningNoticeListView.as_view(), name="dunning_notices"),
    path("reminders/sent/<uuid:id>/", runs.DunningNoticeDetailView.as_view(),
         name="dunning_notice"),
    path("reminders/sent/<uuid:id>/resend/", runs.DunningNoticeResendView.as_view(),
         name="dunning_notice_resend"),
    path("reminders/sent/<uuid:id>/letter.pdf", views.DunningLetterView.as_view(),
         name="dunning_letter"),
    path("reminders/levels/", views.DunningLevelListView.as_view(), name="dunning_levels"),
    path("reminders/levels/new/", views.DunningLevelCreateView.as_view(),
         name="dunning_level_create"),
    path("reminders/levels/<uuid:id>/edit/", views.DunningLevelUpdateView.as_view(),
         name="dunning_level_edit"),
    path("reminders/levels/<uuid:id>/delete/", views.DunningLevelDeleteView.as_view(),
         name="dunning_level_delete"),
    path("reminders/accounts/<uuid:id>/pause/", views.DunningPauseView.as_view(),
         name="dunning_pause"),
    path("reminders/disputes/", views.DisputeListView.as_view(), name="dunning_disputes"),
    path("reminders/invoices/<uuid:id>/dispute/", views.DisputeOpenView.as_view(),
         name="dunning_dispute_open"),
    path("reminders/disputes/<uuid:id>/resolve/", views.DisputeResolveView.as_view(),
         name="dunning_dispute_resolve"),
]
