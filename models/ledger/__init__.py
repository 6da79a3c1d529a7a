"""The tamper-evident ledger (hash-chained, signed checkpoints), the unit of work that writes it with
the projections (``transaction``), and the replay that rebuilds projections from it.
May import ``clocks`` and the shared modules."""
