"""Monitoring changes no state yet: reports are read-only (see ``monitoring.selectors``)."""
