"""The catalogue: centers, departments, windows, staff and items (审批事项) with their steps,
materials, fees and warning rules. May import ``clocks``, ``ledger`` and the shared modules."""
