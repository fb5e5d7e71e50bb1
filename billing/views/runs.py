"""Portal views: billing batches and bill runs."""
