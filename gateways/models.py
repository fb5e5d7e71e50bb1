"""Models of the gateways app (see ../shared/DESIGN.md)."""
