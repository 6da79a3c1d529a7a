"""What applicants and the public bring to supervision: complaints and consultations (投诉、咨询) and
evaluations (好差评) with their follow-ups, each on a clock of the core.
May import ``cases``, ``clocks``, ``ledger``, ``catalogue``, ``access`` and ``notices``."""
