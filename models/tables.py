"""Imports every table module so ``SQLModel.metadata`` knows the whole schema (Alembic, tests)."""
from esupervision.models.access import account, apikey, audit, idempotency, login_code  # noqa: F401
from esupervision.models.access import city_key  # noqa: F401  (a county's key for the city's supervision)
from esupervision.models.cases import case
from esupervision.models.catalogue import catalogue, numbering  # noqa: F401
from esupervision.models.clocks import calendar, clock, tally  # noqa: F401
from esupervision.models.counties import link as county_link  # noqa: F401  (county replicas)
from esupervision.models.ledger import ledger  # noqa: F401
from esupervision.models.notices import inbound, notice  # noqa: F401
from esupervision.models.public import complaint, evaluation
from esupervision.models.supervision import accountability, fault_detection  # noqa: F401  (faults, appeals)
from esupervision.models.supervision import orders, publication
from esupervision.models.supervision import county_commands  # noqa: F401  (urges and orders sent to counties)
from esupervision.models.supervision import rollup  # noqa: F401  (daily rollup of case events)
from esupervision.models.supervision import rules as supervision_rules
from esupervision.models.tenders import redflags, tender
from esupervision.models.video import camera, evidence  # noqa: F401  (电子眼)

# Projection tables rebuilt by ``esv ledger replay``, in insert order (foreign keys).
PROJECTIONS = (clock.Clock, case.Case, case.Step, tender.Tender, tender.TenderLot, tender.TenderBid,
               tender.TenderStageRow, tender.TenderObjection, redflags.TenderRedFlag,
               complaint.Complaint, evaluation.EvaluationRequest, evaluation.Evaluation, evaluation.FollowUp,
               orders.Urge, orders.SupervisionOrder, supervision_rules.SupervisionRule,
               publication.PublishedReport,
               accountability.Fault, accountability.AccountabilityRule, accountability.AccountabilitySuggestion,
               accountability.Appeal)
