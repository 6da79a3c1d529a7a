"""Imports every table module so ``SQLModel.metadata`` knows the whole schema (Alembic, tests)."""
from esupervision.models import (account, apikey, audit, calendar, case, catalogue, clock, ledger,  # noqa: F401
                                 login_code, notice, tally)
from esupervision.models import redflags, tender  # noqa: F401  (tenders and their red flags)

# Projection tables rebuilt by ``esv ledger replay``, in insert order (foreign keys).
PROJECTIONS = (clock.Clock, case.Case, case.Step, tender.Tender, tender.TenderLot, tender.TenderBid,
               tender.TenderStageRow, tender.TenderObjection, redflags.TenderRedFlag)
