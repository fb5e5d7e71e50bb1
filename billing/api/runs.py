"""REST endpoints: billing batches and bill runs."""
