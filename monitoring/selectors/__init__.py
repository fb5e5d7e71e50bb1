"""Read queries of monitoring: the energy report every page, API and export uses."""

from monitoring.selectors.energy import (
    GROUPS,
    CostRow,
    EnergyReport,
    EnergyRow,
    energy_report,
)

__all__ = ["GROUPS", "CostRow", "EnergyReport", "EnergyRow", "energy_report"]
