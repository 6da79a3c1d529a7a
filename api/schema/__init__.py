"""The one schema every entry point uses: an Apollo Federation v2 subgraph."""
from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from esupervision.api.errors import ErrorCodes, Schema
from esupervision.api.limits import IntrospectionPolicy, QueryLimits
from esupervision.api.privacy import RecordPersonalReads
from esupervision.api.schema.supervision.accountability import AccountabilityMutation, AccountabilityQuery
from esupervision.api.schema.access.accounts import AccountMutation, AccountQuery
from esupervision.api.schema.access.auth import AuthMutation, AuthQuery
from esupervision.api.schema.cases.case import CaseMutation, CaseQuery
from esupervision.api.schema.cases.compiled import CompiledCasePages
from esupervision.api.schema.catalogue.catalogue import CatalogueMutation, CatalogueQuery
from esupervision.api.schema.counties.counties import CountiesQuery
from esupervision.api.schema.public.complaint import ComplaintMutation, ComplaintQuery
from esupervision.api.schema.public.evaluation import EvaluationMutation, EvaluationQuery
from esupervision.api.schema.cases.notice import NoticeQuery, NoticeSubscription
from esupervision.api.schema.duties import enforce_duties
from esupervision.api.schema.public.overview import OverviewQuery
from esupervision.api.schema.supervision.ledger import LedgerSubscription
from esupervision.api.schema.supervision.publication import PublicationMutation, PublicationQuery
from esupervision.api.schema.supervision.statistics import StatisticsQuery
from esupervision.api.schema.supervision.county_commands import CountyCommandMutation, CountyCommandQuery
from esupervision.api.schema.supervision.orders import SupervisionMutation, SupervisionQuery, SupervisionSubscription
from esupervision.api.schema.tenders.tender import TenderMutation, TenderQuery, TenderSubscription
from esupervision.api.schema.subscription import Subscription, SubscriptionResults
from esupervision.api.schema.video.camera import VideoMutation, VideoQuery

Query = merge_types("Query", (CatalogueQuery, CountiesQuery, CaseQuery, OverviewQuery, AuthQuery, TenderQuery, PublicationQuery,
                              ComplaintQuery, EvaluationQuery, StatisticsQuery, SupervisionQuery,
                              AccountabilityQuery, NoticeQuery, AccountQuery, CountyCommandQuery, VideoQuery))
# Every mutation passes the role × operation matrix first (models/access/duties.py, decision 9).
Mutation = enforce_duties(merge_types("Mutation", (AuthMutation, AccountMutation, CaseMutation, CatalogueMutation, TenderMutation,
                                                   PublicationMutation, ComplaintMutation, EvaluationMutation,
                                                   SupervisionMutation, CountyCommandMutation, AccountabilityMutation, VideoMutation)))
Subscription = merge_types("Subscription", (Subscription, TenderSubscription, SupervisionSubscription,
                                            NoticeSubscription, LedgerSubscription))

MAX_DEPTH = 10
MAX_ALIASES = 15


def build_schema() -> strawberry.federation.Schema:
    return Schema(
        query=Query, mutation=Mutation, subscription=Subscription, federation_version="2.5",
        # ErrorCodes first: it wraps the others, so it shapes the errors they leave.
        extensions=[ErrorCodes, RecordPersonalReads, lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
                    lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES), QueryLimits, IntrospectionPolicy,
                    SubscriptionResults,
                    # Last: known page queries answered without graphql-core's per-field work.
                    CompiledCasePages],
    )


schema = build_schema()
