"""REST endpoints of readings (thin: parse input, call a service or selector, shape output).

Split by resource; ``readings.api_urls`` and the schema use them from here.
"""

from readings.api.consumption import (
    ConsumptionChartSerializer,
    ConsumptionChartView,
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
    "ConsumptionChartSerializer",
    "ConsumptionChartView",
    "ConsumptionSerializer",
    "ConsumptionView",
    "ReadingItemSerializer",
    "ReadingPageSerializer",
    "ReadingSerializer",
    "ReadingsView",
    "UploadCreateSerializer",
    "UploadSerializer",
    "UploadViewSet",
]
