"""REST endpoints of the meters app, mounted under /api/v1/."""

urlpatterns: list = []
