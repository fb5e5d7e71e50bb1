"""REST endpoints of the readings app, mounted under /api/v1/."""

urlpatterns: list = []
