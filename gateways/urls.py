from django.urls import path

from billspree.core.views import SectionView

app_name = "gateways"

urlpatterns = [
    path(
        "",
        SectionView.as_view(
            section="Gateways",
            description="Modbus gateways, register maps, polling health and relay control.",
        ),
        name="index",
    ),
]
