"""REST endpoints of billing, one module per concern."""
