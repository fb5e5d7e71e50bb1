from django.urls import path

from billspree.core.views import SectionView

app_name = "readings"

urlpatterns = [
    path(
        "",
        SectionView.as_view(
            section="Readings",
            description="Meter readings from gateways, CSV uploads, the API and manual entry, with validation and consumption.",
        ),
        name="index",
    ),
]
