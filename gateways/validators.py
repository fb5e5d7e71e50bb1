"""Field validators of gateway configuration (used by the models, hence by every entry point)."""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError

HOST_HELP = (
    "Host name or IP address only, without scheme or port (the port has its own field), "
    "e.g. 10.0.0.5 or gw-basement.example.net."
)

#: One RFC 1123 label: letters, digits and hyphens, 1–63 long, no hyphen at either end.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_hostname(value: str) -> bool:
    name = value[:-1] if value.endswith(".") else value  # a fully qualified "name." is fine
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if labels[-1].isdigit():  # looks like an IPv4 address but did not parse as one
        return False
    return all(_LABEL.match(label) for label in labels)


def validate_host(value: str) -> None:
    """A host name (RFC 1123) or an IPv4/IPv6 address; nothing else (no scheme, no port)."""
    if _is_ip(value) or _is_hostname(value):
        return
    raise ValidationError(
        "“%(value)s” is not a host name or IP address. Enter the host name or IP address "
        "only, without scheme or port (the port has its own field).",
        code="invalid_host",
        params={"value": value},
    )


U16_MESSAGE = "A holding register holds a value from 0 to 65535 (unsigned 16-bit)."


def relay_errors(profile) -> dict[str, list[str]]:
    """Errors of a profile's relay settings, by field. ``profile`` is a ``Profile``; it is
    not imported here because the models import this module."""
    kind = profile.relay_kind
    if not kind:
        return {}
    errors: dict[str, list[str]] = {}
    if profile.relay_address is None:
        errors["relay_address"] = ["A relay needs the address to write."]
    on, off = profile.relay_on_value, profile.relay_off_value
    if kind == "coil":
        for field, value in (("relay_on_value", on), ("relay_off_value", off)):
            if isinstance(value, int) and value not in (0, 1):
                errors[field] = [
                    f"A coil is either 0 (OFF) or 1 (ON); {value} cannot be written to it."
                ]
    if isinstance(on, int) and on == off and "relay_off_value" not in errors:
        errors["relay_off_value"] = [
            f"The off value must differ from the on value (both are {on}); otherwise "
            "switching off would switch on, and the relay's position could not be read."
        ]
    return errors
