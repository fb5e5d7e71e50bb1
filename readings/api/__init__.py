"""REST endpoints of readings (thin: parse input, call a service or selector, shape output):
readings of a meter, its consumption and chart, CSV uploads. The batch write's shapes:
``readings.api_batch``."""

from readings.api.consumption import (
    ConsumptionBoundarySerializer,
    ConsumptionChartRowSerializer,
    ConsumptionChartSerializer,
    ConsumptionChartView,
    ConsumptionReadingSerializer,
    ConsumptionSegmentSerializer,
    ConsumptionSerializer,
    ConsumptionView,
)
from readings.api.readings import (
    ReadingItemSerializer,
    ReadingPageSerializer,
    ReadingSerializer,
    ReadingsView,
)
from readings.api.uploads import UploadCreateSerializer, UploadSerializer, UploadViewSet

__all__ = [
    "ConsumptionBoundarySerializer", "ConsumptionChartRowSerializer",
    "ConsumptionChartSerializer", "ConsumptionChartView", "ConsumptionReadingSerializer",
    "ConsumptionSegmentSerializer", "ConsumptionSerializer", "ConsumptionView",
    "ReadingItemSerializer", "ReadingPageSerializer", "ReadingSerializer", "ReadingsView",
    "UploadCreateSerializer", "UploadSerializer", "UploadViewSet",
]
