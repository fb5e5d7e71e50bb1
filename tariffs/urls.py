from django.urls import path

from billspree.core.views import SectionView

app_name = "tariffs"

urlpatterns = [
    path(
        "",
        SectionView.as_view(
            section="Tariffs",
            description="Rate lists, charge rules, plans and add-ons.",
        ),
        name="index",
    ),
]
