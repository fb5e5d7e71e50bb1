"""REST endpoints of the ledger: payments (included by ``ledger/api_urls.py``)."""

from rest_framework.routers import SimpleRouter

from ledger.api import payments as api

router = SimpleRouter()
router.register("payments", api.PaymentViewSet, basename="payment")
router.register("allocations", api.AllocationViewSet, basename="allocation")

urlpatterns = [*router.urls]
