"""Cases (办件) and their steps: the state machine, the one service function every change goes
through (``casework``), reported events and their scope, reading cases, and the full-process timeline.
May import ``clocks``, ``ledger``, ``catalogue``, ``access``, ``notices`` and the shared modules."""
