"""Python client of the esupervision GraphQL API, for department business systems and dashboards."""
from esupervision_client.client import MAX_BATCH, EsupervisionClient
from esupervision_client.errors import EsupervisionError, GraphQLError, TransportError
from esupervision_client.types import (AuthSession, Case, CaseDetail, CaseFilter, CasePage, EventResult,
                                       LedgerEntry, LightCounts, Overview, OverviewRow, Ref, ReportedEvent,
                                       Step)

__all__ = [
    "MAX_BATCH", "AuthSession", "Case", "CaseDetail", "CaseFilter", "CasePage", "EsupervisionClient",
    "EsupervisionError", "EventResult", "GraphQLError", "LedgerEntry", "LightCounts", "Overview",
    "OverviewRow", "Ref", "ReportedEvent", "Step", "TransportError",
]
