"""The outbox: notices (SMS, voice) written as drafts in the transaction of the event that causes
them; the gateway in ``notify`` renders and delivers them. May import ``clocks``, ``ledger``,
``catalogue``, ``cases`` and ``access``."""
