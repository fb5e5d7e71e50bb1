"""Read queries of billing, one module per concern."""
