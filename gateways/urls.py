from django.urls import path

from gateways import views

app_name = "gateways"

urlpatterns = [
    path("", views.GatewayListView.as_view(), name="index"),
    path("new/", views.GatewayFormView.as_view(), name="create"),
    path("<uuid:id>/", views.GatewayDetailView.as_view(), name="detail"),
    path("<uuid:id>/edit/", views.GatewayFormView.as_view(), name="edit"),
    path("<uuid:id>/delete/", views.GatewayDeleteView.as_view(), name="delete"),
    path("<uuid:id>/poll/", views.PollNowView.as_view(), name="poll"),
    path("<uuid:id>/poll/status/", views.PollStatusView.as_view(), name="poll_status"),
    path("<uuid:gateway_id>/meters/new/", views.RegisterMapFormView.as_view(), name="map_create"),
    path("meters/<uuid:id>/edit/", views.RegisterMapEditView.as_view(), name="map_edit"),
    path("meters/<uuid:id>/delete/", views.RegisterMapDeleteView.as_view(), name="map_delete"),
    path("meters/<uuid:id>/relay/", views.RelayView.as_view(), name="relay"),
    path("meters/<uuid:id>/relay/state/", views.RelayStateView.as_view(), name="relay_state"),
    path("profiles/", views.ProfileListView.as_view(), name="profiles"),
    path("profiles/new/", views.ProfileFormView.as_view(), name="profile_create"),
    path("profiles/<uuid:id>/", views.ProfileDetailView.as_view(), name="profile_detail"),
    path("profiles/<uuid:id>/edit/", views.ProfileFormView.as_view(), name="profile_edit"),
    path("profiles/<uuid:id>/copy/", views.ProfileCopyView.as_view(), name="profile_copy"),
    path("profiles/<uuid:id>/delete/", views.ProfileDeleteView.as_view(), name="profile_delete"),
]
