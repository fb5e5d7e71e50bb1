from django.urls import path

from billspree.core.views import SectionView

app_name = "tenants"

urlpatterns = [
    path(
        "",
        SectionView.as_view(
            section="Tenants",
            description="Tenants, occupancies, moves and RFID badges.",
        ),
        name="index",
    ),
]
