"""Portal views of billing, one module per concern."""
