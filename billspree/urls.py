from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from billspree.core import auth_views as throttled_auth
from billspree.core.admin_site import admin_site  # noqa: F401  (scopes the admin)
from billspree.core.api_docs import DocsView, SchemaView
from billspree.core.api_root import ApiRootView

api_v1 = [
    path("", ApiRootView.as_view(), name="root"),
    path("schema/", SchemaView.as_view(api_version="v1"), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("", include("billspree.core.api_urls")),
    path("", include("meters.api_urls")),
    path("", include("readings.api_urls")),
    path("", include("tenants.api_urls")),
    path("", include("tariffs.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("gateways.api_urls")),
    path("", include("ledger.api_urls")),
    path("", include("monitoring.api_urls")),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"))),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        throttled_auth.LoginView.as_view(),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        throttled_auth.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        throttled_auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(success_url="/"),
        name="password_change",
    ),
    path("", include("meters.urls")),
    path("readings/", include("readings.urls")),
    path("tenants/", include("tenants.urls")),
    path("tariffs/", include("tariffs.urls")),
    path("billing/", include("billing.urls")),
    path("gateways/", include("gateways.urls")),
    path("ledger/", include("ledger.urls")),
    path("monitoring/", include("monitoring.urls")),
    # the tenant portal: tenants' pages and billing's pages under one prefix
    path("my/", include("tenants.portal_urls")),
    path("my/", include("billing.tenant_portal_urls")),
    path("my/", include("ledger.tenant_portal_urls")),
    path("", include("billspree.core.urls")),
]

handler404 = "billspree.core.error_views.page_not_found"
handler500 = "billspree.core.error_views.server_error"
