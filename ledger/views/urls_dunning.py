"""Portal pages of the ledger: dunning (included by ``ledger/urls.py``)."""

from django.urls import path

from ledger.views import dunning as views

urlpatterns = [
    path("reminders/", views.DunningDueView.as_view(), name="dunning_due"),
    path("reminders/send/", views.DunningSendView.as_view(), name="dunning_send"),
    path("reminders/sent/", views.DunningNoticeListView.as_view(), name="dunning_notices"),
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
