"""Models of the readings app (see ../shared/DESIGN.md)."""
