from django.urls import path

from billspree.core.views import SectionView

app_name = "meters"

urlpatterns = [
    path(
        "properties/",
        SectionView.as_view(
            section="Properties",
            description="Buildings and sites with their billing points (connections).",
        ),
        name="index",
    ),
    path(
        "meters/",
        SectionView.as_view(
            section="Meters",
            description="Electricity, gas, water, heat and cooling meters and their assignments.",
        ),
        name="meter_list",
    ),
]
