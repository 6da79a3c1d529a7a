"""County deployments joined to the city by verified ledger replication (issue 17): the counties
the city pulls (``link``), the check of what a county serves against its signed heads
(``verify``), the replica kept in the city's own ledger and projected read-only (``replica``),
and one pull of a county over an injected transport (``sync``).
May import ``ledger``, ``catalogue``, ``cases``, ``clocks``, ``supervision`` and the shared modules."""
