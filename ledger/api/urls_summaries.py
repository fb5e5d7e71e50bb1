"""REST endpoints of the ledger: parent summaries (included by ``ledger/api_urls.py``)."""

from rest_framework.routers import SimpleRouter

from ledger.api import summaries as api

router = SimpleRouter()
router.register("parent-summaries", api.ParentSummaryViewSet, basename="parent-summary")

urlpatterns = [*router.urls]
