"""Models of the tenants app (see ../shared/DESIGN.md)."""
