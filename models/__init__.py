"""The domain: tables and rules, one package per domain; no I/O beyond the database session.

Shared by every package: ``base`` (column types, ids), ``errors`` (domain errors with stable codes) and
``tables`` (every table, for Alembic and replay). ``models`` imports only ``esupervision.db`` and
``esupervision.settings`` from outside itself: never ``api``, ``workers``, ``notify`` or ``exports``
(tests/platform/test_layout.py checks it)."""
