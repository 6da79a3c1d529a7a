"""The embedded default's in-process worker: the light scheduler on a thread, and the internal
channel wired so committed announcements reach in-process subscribers."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from esupervision.settings import get_settings
from esupervision.workers.channel import channel, fanout  # noqa: F401  (the process's channel, as callers know it)
from esupervision.workers.lights import LightScheduler


def start_embedded_worker(engine: Engine) -> LightScheduler:
    channel()
    scheduler = LightScheduler(engine)
    scheduler.start_thread()
    from esupervision.workers.dispatch import start_in_process
    start_in_process(engine, get_settings(), channel().subscribe)   # notices: stub broker, in this process
    from esupervision.workers.reports import start_monthly_thread
    start_monthly_thread(engine)   # last month's reports, as `esv worker` publishes them in production
    from esupervision.workers.ledger import start_ledger_threads
    start_ledger_threads(engine)   # signed tree heads to the witness, and the nightly ledger check
    from esupervision.workers.replication import Replicator
    Replicator(engine).start_thread()   # the county deployments this city replicates, pulled and verified
    from esupervision.workers.county_commands import start_relay
    start_relay(engine, channel().subscribe)   # urges and orders on county deployments' cases
    return scheduler
