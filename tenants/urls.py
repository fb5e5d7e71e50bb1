from django.urls import path

from tenants import views

app_name = "tenants"

urlpatterns = [
    path("", views.TenantListView.as_view(), name="index"),
    path("new/", views.TenantCreateView.as_view(), name="create"),
    path("<uuid:id>/", views.TenantDetailView.as_view(), name="detail"),
    path("<uuid:id>/edit/", views.TenantUpdateView.as_view(), name="edit"),
    path(
        "<uuid:id>/occupancies/new/",
        views.TenantOccupancyCreateView.as_view(),
        name="occupancy_create",
    ),
    path("<uuid:id>/badges/new/", views.TenantBadgeAssignView.as_view(), name="badge_assign"),
    path("<uuid:id>/portal/invite/", views.TenantPortalInviteView.as_view(), name="portal_invite"),
    path(
        "portal-access/<uuid:id>/resend/",
        views.TenantPortalResendView.as_view(),
        name="portal_resend",
    ),
    path(
        "portal-access/<uuid:id>/revoke/",
        views.TenantPortalRevokeView.as_view(),
        name="portal_revoke",
    ),
    path("occupancies/<uuid:id>/end/", views.OccupancyEndView.as_view(), name="occupancy_end"),
    path("occupancy/", views.OccupancyOverviewView.as_view(), name="occupancy_overview"),
    path("moves/", views.MoveListView.as_view(), name="move_list"),
    path("moves/new/", views.MoveRegisterView.as_view(), name="move_register"),
    path("moves/<uuid:id>/", views.MoveDetailView.as_view(), name="move_detail"),
    path(
        "billing-points/<uuid:id>/",
        views.BillingPointOccupancyView.as_view(),
        name="billing_point",
    ),
    path("billing-points/<uuid:id>/owner/", views.OwnerSetView.as_view(), name="owner_set"),
    path("badges/", views.BadgeListView.as_view(), name="badge_list"),
    path(
        "badges/assignments/<uuid:id>/return/",
        views.BadgeReturnView.as_view(),
        name="badge_return",
    ),
]
