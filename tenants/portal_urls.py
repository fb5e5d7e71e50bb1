"""The tenant portal's pages of tenants data, mounted at ``/my/`` (namespace ``my``).

Billing's pages of the portal (invoices, statements) are in ``billing.tenant_portal_urls``
(namespace ``my_billing``), mounted at the same prefix.
"""

from django.urls import path

from tenants.views import portal as views

app_name = "my"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("consumption/", views.ConsumptionView.as_view(), name="consumption"),
    path("consumption/<uuid:id>/", views.MeterConsumptionView.as_view(), name="meter"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("profile/password/", views.PasswordView.as_view(), name="password"),
    path("invite/<str:token>/", views.AcceptView.as_view(), name="accept"),
    path("switch/<uuid:access>/", views.SwitchView.as_view(), name="switch"),
    path("logo/<uuid:organization>/", views.LogoView.as_view(), name="logo"),
]
