"""Who may do and see what: roles and data scopes, staff accounts and passwords, applicants' SMS
login codes, department systems' API keys, and the record of every read of personal data.
May import ``clocks``, ``catalogue``, ``cases``, ``notices`` and the shared modules."""
