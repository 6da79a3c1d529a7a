"""Time: the working-day calendar, the one clock mechanism of every subject, lights derived from a
clock's instants, the light tally and its queries, and the injectable source of "now".
May import only the shared modules (and ``ledger`` for recomputing clocks when a year is loaded)."""
