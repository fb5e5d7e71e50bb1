"""Portal pages of the meter registry (mounted at the site root, so paths carry a prefix)."""

from django.urls import path

from meters import views

app_name = "meters"

urlpatterns = [
    path("properties/", views.PropertyListView.as_view(), name="index"),
    path("properties/new/", views.PropertyCreateView.as_view(), name="property_create"),
    path("properties/<uuid:id>/", views.PropertyDetailView.as_view(), name="property_detail"),
    path("properties/<uuid:id>/edit/", views.PropertyEditView.as_view(), name="property_edit"),
    path(
        "properties/<uuid:id>/delete/", views.PropertyDeleteView.as_view(), name="property_delete"
    ),
    path(
        "properties/<uuid:id>/connections/new/",
        views.NewConnectionView.as_view(),
        name="billing_point_create",
    ),
    path(
        "billing-points/<uuid:id>/",
        views.BillingPointDetailView.as_view(),
        name="billing_point_detail",
    ),
    path(
        "billing-points/<uuid:id>/edit/",
        views.BillingPointEditView.as_view(),
        name="billing_point_edit",
    ),
    path(
        "billing-points/<uuid:id>/delete/",
        views.BillingPointDeleteView.as_view(),
        name="billing_point_delete",
    ),
    path("billing-points/<uuid:id>/assign/", views.AssignMeterView.as_view(), name="assign"),
    path("meter-assignments/<uuid:id>/remove/", views.RemoveMeterView.as_view(), name="remove"),
    path("meter-assignments/<uuid:id>/replace/", views.ReplaceMeterView.as_view(), name="replace"),
    path("meters/", views.MeterListView.as_view(), name="meter_list"),
    path("meters/new/", views.MeterCreateView.as_view(), name="meter_create"),
    path("meters/import/", views.MeterImportView.as_view(), name="meter_import"),
    path("meters/<uuid:id>/", views.MeterDetailView.as_view(), name="meter_detail"),
    path("meters/<uuid:id>/edit/", views.MeterEditView.as_view(), name="meter_edit"),
    path("meters/<uuid:id>/delete/", views.MeterDeleteView.as_view(), name="meter_delete"),
]
