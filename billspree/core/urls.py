from django.urls import path

from billspree.core import views

app_name = "portal"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path(
        "organizations/switch/<uuid:id>/", views.OrganizationSwitchView.as_view(), name="org_switch"
    ),
    path("organizations/new/", views.NoOrganizationView.as_view(), name="no_organization"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("settings/members/", views.MembersView.as_view(), name="members"),
    path(
        "organizations/<uuid:organization>/logo/",
        views.OrganizationLogoView.as_view(),
        name="organization_logo",
    ),
    path("settings/members/<uuid:id>/role/", views.MemberRoleView.as_view(), name="member_role"),
    path(
        "settings/members/<uuid:id>/remove/", views.MemberRemoveView.as_view(), name="member_remove"
    ),
    path(
        "settings/invitations/<uuid:id>/revoke/",
        views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path("settings/api-keys/", views.ApiKeysView.as_view(), name="api_keys"),
    path(
        "settings/api-keys/<uuid:id>/revoke/",
        views.ApiKeyRevokeView.as_view(),
        name="api_key_revoke",
    ),
    path("settings/audit/", views.AuditLogView.as_view(), name="audit_log"),
    path("invite/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("healthz/", views.HealthzView.as_view(), name="healthz"),
    path("ops/status/", views.OpsStatusView.as_view(), name="ops_status"),
]
