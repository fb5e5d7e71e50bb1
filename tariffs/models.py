"""Models of the tariffs app (see ../shared/DESIGN.md)."""
