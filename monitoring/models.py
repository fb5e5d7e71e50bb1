"""Monitoring keeps no rows of its own yet: reports read the consumption rollups of
``readings`` (``HourlyConsumption``, ``DailyConsumption``, ``MonthlyConsumption``) and the
issued invoices of ``billing``. Alarm rules, alarms and scheduled reports will live here."""
