"""REST endpoints of gateways: configuration, profiles, register maps, health, polls, relays.

Roles: reading needs a viewer; "poll now" and relay switching an operator; configuration
(gateways, profiles, register maps) a manager. Addresses are 0-based everywhere; each
profile value also shows the 1-based number manuals print (``register_number``).
"""

from gateways.api.gateways import (
    GatewayErrorSerializer,
    GatewayErrorViewSet,
    GatewaySerializer,
    GatewayViewSet,
    PollNowSerializer,
    PollRunSerializer,
    PollRunViewSet,
)
from gateways.api.profiles import ProfileSerializer, ProfileValueSerializer, ProfileViewSet
from gateways.api.register_maps import (
    HEALTH_FIELDS,
    RELAY_RETRY_AFTER_S,
    RegisterMapFilter,
    RegisterMapSerializer,
    RegisterMapViewSet,
    RelaySerializer,
)

__all__ = [
    "HEALTH_FIELDS", "RELAY_RETRY_AFTER_S", "GatewayErrorSerializer", "GatewayErrorViewSet",
    "GatewaySerializer", "GatewayViewSet", "PollNowSerializer", "PollRunSerializer",
    "PollRunViewSet", "ProfileSerializer", "ProfileValueSerializer", "ProfileViewSet",
    "RegisterMapFilter", "RegisterMapSerializer", "RegisterMapViewSet", "RelaySerializer",
]
