"""Imports every table module so ``SQLModel.metadata`` knows the whole schema (Alembic, tests)."""
from esupervision.models import (account, apikey, audit, calendar, case, catalogue, clock, ledger,  # noqa: F401
                                 login_code, notice, tally)
from esupervision.models import redflags, tender  # noqa: F401  (tenders and their red flags)
from esupervision.models import complaint, evaluation  # noqa: F401  (complaints, consultations, 好差评)
from esupervision.models import supervision, supervision_rules  # noqa: F401  (urges, orders, rules)
from esupervision.models import publication  # noqa: F401  (published efficiency reports)
from esupervision.models import statistics_rollup  # noqa: F401  (daily rollup of case events)

# Projection tables rebuilt by ``esv ledger replay``, in insert order (foreign keys).
PROJECTIONS = (clock.Clock, case.Case, case.Step, tender.Tender, tender.TenderLot, tender.TenderBid,
               tender.TenderStageRow, tender.TenderObjection, redflags.TenderRedFlag,
               complaint.Complaint, evaluation.EvaluationRequest, evaluation.Evaluation, evaluation.FollowUp,
               supervision.Urge, supervision.SupervisionOrder, supervision_rules.SupervisionRule,
               publication.PublishedReport)
from esupervision.models import accountability, fault_detection  # noqa: F401,E402  (faults, accountability, appeals)

PROJECTIONS += (accountability.Fault, accountability.AccountabilityRule, accountability.AccountabilitySuggestion,
                accountability.Appeal)
