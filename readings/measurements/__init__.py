"""Measurements: instantaneous values of devices (meters and environmental sensors).

Power, voltage, current, power factor, frequency, temperature, humidity: values *at* an
instant, never summed into consumption (that is derived from readings only). Modules:
``models`` (series, raw rows, 15-minute aggregates), ``partitions`` (monthly partitions
of the two big tables), ``ingest`` (the one write path: API, CSV, gateway polls),
``retention`` (downsampling old raw rows), ``api``, ``views``, ``selectors``.
"""
