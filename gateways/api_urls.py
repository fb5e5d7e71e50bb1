"""REST endpoints of the gateways app, mounted under /api/v1/."""

urlpatterns: list = []
