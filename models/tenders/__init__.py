"""Tenders (招投标): lots, bids, stages on the core's clocks, the statutory rules citing their
articles, red flags and the OCDS export. May import ``cases``, ``clocks``, ``ledger``, ``catalogue``."""
