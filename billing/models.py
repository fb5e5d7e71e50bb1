"""Models of the billing app (see ../shared/DESIGN.md)."""
