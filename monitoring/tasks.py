"""Background jobs of monitoring (exports, scheduled reports): none yet."""
