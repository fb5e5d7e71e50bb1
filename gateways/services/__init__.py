"""State changes of gateways: configuration, profiles, register maps, polls, relays.

Split by subject; import from here (``from gateways import services``).
"""

from gateways.services.config import (
    gateway_create,
    gateway_delete,
    gateway_update,
    register_map_create,
    register_map_delete,
    register_map_update,
)
from gateways.services.polling import (
    gateway_poll,
    gateway_poll_request,
    gateways_poll,
    manual_slot,
    poll_slot,
)
from gateways.services.profiles import (
    profile_builtins_ensure,
    profile_copy,
    profile_create,
    profile_delete,
    profile_update,
)
from gateways.services.relays import errors_prune, relay_state_read, relay_switch

__all__ = [
    "errors_prune",
    "gateway_create",
    "gateway_delete",
    "gateway_poll",
    "gateway_poll_request",
    "gateway_update",
    "gateways_poll",
    "manual_slot",
    "poll_slot",
    "profile_builtins_ensure",
    "profile_copy",
    "profile_create",
    "profile_delete",
    "profile_update",
    "register_map_create",
    "register_map_delete",
    "register_map_update",
    "relay_state_read",
    "relay_switch",
]
