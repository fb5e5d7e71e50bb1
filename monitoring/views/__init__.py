"""Portal pages of monitoring, one module per page (thin: parse the query, call the
selector, shape cells)."""
