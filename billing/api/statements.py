"""REST endpoints: statements."""
