"""REST endpoints of the tariffs app, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from tariffs import api

router = SimpleRouter()
router.register("rate-lists", api.RateListViewSet, basename="rate-list")
router.register("rate-list-versions", api.RateListVersionViewSet, basename="rate-list-version")
router.register("charge-rules", api.ChargeRuleViewSet, basename="charge-rule")
router.register("holiday-calendars", api.HolidayCalendarViewSet, basename="holiday-calendar")
router.register("add-ons", api.AddOnViewSet, basename="add-on")
router.register("cash-roundings", api.CashRoundingViewSet, basename="cash-rounding")
router.register("plans", api.PlanViewSet, basename="plan")
router.register("plan-variants", api.PlanVariantViewSet, basename="plan-variant")
router.register("pricing-templates", api.PricingTemplateViewSet, basename="pricing-template")
router.register(
    "billing-point-rate-lists", api.BillingPointRateListViewSet,
    basename="billing-point-rate-list",
)

urlpatterns = router.urls
