"""Read queries of readings. The consumption engine is :mod:`.segments` (how a
period's use is computed from readings; its docstring says how), the public consumption
reads are :mod:`.consumption`, lists are :mod:`.lists`, time-of-use interval data is
:mod:`.intervals`. Everything public is importable from ``readings.selectors``.
"""

from readings.selectors.consumption import (  # noqa: F401
    CHART_ROWS,
    billing_point_consumption,
    consumption_by_meter_type,
    consumption_rollup,
    meter_consumption,
    meter_consumption_periods,
    meter_months_consumption,
)
from readings.selectors.intervals import (  # noqa: F401
    INTERVAL_MAX,
    Interval,
    interval_data,
    meters_with_interval_data,
    reading_times,
)
from readings.selectors.lists import (  # noqa: F401
    last_readings,
    open_anomalies,
    previous_reading,
    readings_for_meter,
    recent_uploads,
    upload_template_csv,
)
from readings.selectors.segments import (  # noqa: F401
    ASSIGNMENT_FIELDS,
    NEAR,
    QUANTUM,
    READ_TOLERANCE,
    AssignmentRow,
    Boundary,
    BoundaryValue,
    Consumption,
    MeterRow,
    Segment,
    complete_until,
    find_neighbours,
    id_array,
    segment_consumption,
)
