"""REST endpoints of the ledger: dunning (included by ``ledger/api_urls.py``)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from ledger.api import dunning as api

router = SimpleRouter()
router.register("dunning-levels", api.DunningLevelViewSet, basename="dunning-level")
router.register("dunning-runs", api.DunningRunViewSet, basename="dunning-run")
router.register("dunning-notices", api.DunningNoticeViewSet, basename="dunning-notice")
router.register("invoice-disputes", api.InvoiceDisputeViewSet, basename="invoice-dispute")

urlpatterns = [
    path("dunning-runs/preview/", api.DunningPreviewView.as_view(), name="dunning-run-preview"),
    path("accounts/<uuid:id>/dunning-pause/", api.AccountDunningPauseView.as_view(),
         name="account-dunning-pause"),
    *router.urls,
]
