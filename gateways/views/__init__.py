"""Portal pages of gateways: connectivity, configuration, register maps, relays, profiles.

Thin: forms parse, services change state, ``OrganizationPortalMixin`` checks roles
(viewer reads; operator polls and switches relays; manager configures).

One module per concern (gateways, register maps, relays, profiles); import from here
(``from gateways import views``).
"""

from gateways.views.gateways import (
    GatewayDeleteView,
    GatewayDetailView,
    GatewayFormView,
    GatewayListView,
    PollNowView,
    PollStatusView,
)
from gateways.views.profiles import (
    ProfileCopyView,
    ProfileDeleteView,
    ProfileDetailView,
    ProfileFormView,
    ProfileListView,
)
from gateways.views.register_maps import (
    RegisterMapDeleteView,
    RegisterMapEditView,
    RegisterMapFormView,
)
from gateways.views.relays import RelayStateView, RelayView

__all__ = [
    "GatewayDeleteView",
    "GatewayDetailView",
    "GatewayFormView",
    "GatewayListView",
    "PollNowView",
    "PollStatusView",
    "ProfileCopyView",
    "ProfileDeleteView",
    "ProfileDetailView",
    "ProfileFormView",
    "ProfileListView",
    "RegisterMapDeleteView",
    "RegisterMapEditView",
    "RegisterMapFormView",
    "RelayStateView",
    "RelayView",
]
