"""The ledger as a transparency log per center: the chain and its Merkle tree (``ledger``, with
``merkle`` and the signed heads of ``checkpoint``), heads signed and proofs served (``tree``,
``proofs``), the unit of work that writes the ledger with the projections (``transaction``), the
replay that rebuilds projections from it and the audit that compares them (``replay``, ``audit``).
May import ``clocks`` and the shared modules; ``replay`` and ``audit`` read every projected table
(``models.tables``)."""
