"""REST endpoints of monitoring, one module per report."""
