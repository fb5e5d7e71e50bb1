"""Portal views: statements."""
