"""REST endpoints of the tariffs app, mounted under /api/v1/."""

urlpatterns: list = []
