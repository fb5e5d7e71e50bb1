from django.urls import path

from billspree.core.views import SectionView

app_name = "billing"

urlpatterns = [
    path(
        "",
        SectionView.as_view(
            section="Billing",
            description="Subscriptions, billing batches, bill runs, invoices and statements.",
        ),
        name="index",
    ),
]
