"""Models of the meters app (see ../shared/DESIGN.md)."""
