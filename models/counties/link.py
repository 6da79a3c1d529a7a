"""The counties the city replicates, and where each stands.

A county deployment runs its own database, API, workers and signing key; the city keeps a
verified copy of every chain the county serves (the county center's and its townships') and
projects it read-only. Three tables:

- ``county`` (``CountyLink``): one row per county registered with ``esv counties add CODE URL
  --public-key FILE``: its code, name, base URL, verifier key (``esv ledger public-key`` at the
  county), the service token its raw events route wants, the city center it sits under, and its
  replication state (last pull, last head, lag; ``diverged_*`` once a fork is caught).
- ``county_chain`` (``CountyChain``): one row per replicated chain (a center of the county):
  how far the city's copy goes (``size``: events 1..size are stored and projected), the Merkle
  tree of that copy (``frontier``, as ``ledger_head.frontier``), the newest signed head seen.
- ``county_head`` (``CountyHead``): every signed head of a county's chain that the city verified,
  as the county signed it: the city is the county's witness, and a later head that is not
  consistent with one of these is a fork.

The replicated events themselves are rows of the city's own ``ledger_event``, with the county's
center ids, seqs and hashes as the county wrote them (so replay, timelines and the city's ledger
check read them as any other chain); the city holds no ``ledger_head`` for a replicated center,
and ``Ledger`` refuses to append to one (``COUNTY_READ_ONLY``).

``replica_center(session, center_id) -> CountyLink | None`` tells whether a center is a
replicated county center (or one of its townships) at the city, and which county serves it:
writes on its cases go to that county's own API (``link.url``), never to the city's tables.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint, select
from sqlmodel import Field, Session, SQLModel

from esupervision.models.base import UTCDateTime, new_id, utc
from esupervision.settings import get_settings

def stale_after() -> timedelta:
    """A county whose last pull that verified is older than this is STALE (its replica still
    answers): ten pull intervals, at least five seconds."""
    return timedelta(seconds=max(5.0, 10 * get_settings().county_pull_interval_s))


class ReplicationStatus(StrEnum):
    LIVE = "live"            # pulled and verified within ``stale_after()``
    STALE = "stale"          # the county does not answer (or not lately): answered from the replica
    DIVERGED = "diverged"    # its log is not what the city verified: projection stopped


class CountyLink(SQLModel, table=True):
    """A county deployment the city replicates."""

    __tablename__ = "county"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(unique=True)
    name: str
    url: str
    # The county's verifier key text (name+keyhash+base64), as `esv ledger public-key` prints it.
    public_key: str = Field(sa_column=Column(Text, nullable=False))
    # Sent as a bearer token to the county's raw events route (its ESV_REPLICATION_TOKEN).
    token: str | None = None
    # The city's center the county's center sits under (the city's root center by default).
    parent_center_id: uuid.UUID | None = None
    # The county's own center id, learned at the first pull.
    center_id: uuid.UUID | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_pulled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)   # last pull that verified
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_head_at: datetime | None = Field(default=None, sa_type=UTCDateTime)     # newest signed head's time
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    failures: int = 0          # pulls failed in a row (back-off)
    diverged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    diverged_center_id: uuid.UUID | None = None
    diverged_seq: int | None = None
    diverged_detail: str | None = Field(default=None, sa_column=Column(Text))

    def status(self, now: datetime) -> ReplicationStatus:
        """LIVE, STALE or DIVERGED at ``now``."""
        if self.diverged_at is not None:
            return ReplicationStatus.DIVERGED
        if self.last_pulled_at is None or utc(now) - utc(self.last_pulled_at) > stale_after():
            return ReplicationStatus.STALE
        return ReplicationStatus.LIVE

    def lag_seconds(self, now: datetime) -> float | None:
        """Seconds since the last pull that verified (None before the first)."""
        if self.last_pulled_at is None:
            return None
        return max(0.0, (utc(now) - utc(self.last_pulled_at)).total_seconds())


class CountyChain(SQLModel, table=True):
    """The city's copy of one chain of a county (a center of its deployment)."""

    __tablename__ = "county_chain"

    center_id: uuid.UUID = Field(primary_key=True)
    county_id: uuid.UUID = Field(foreign_key="county.id", index=True)
    code: str                  # the center's code at the county
    size: int = 0              # events 1..size stored, verified and projected
    last_hash: str = "0" * 64
    frontier: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    head_size: int = 0         # the newest signed head verified
    head_root: str | None = None
    head_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CountyHead(SQLModel, table=True):
    """A signed head of a county's chain, verified with its key: the city witnesses it."""

    __tablename__ = "county_head"
    __table_args__ = (UniqueConstraint("center_id", "size", name="uq_county_head_size"),)

    id: int | None = Field(default=None, primary_key=True)
    center_id: uuid.UUID = Field(index=True)
    size: int
    root: str
    signed_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(sa_type=UTCDateTime)
    note: str = Field(sa_column=Column(Text, nullable=False))


def replica_center(session: Session, center_id: uuid.UUID) -> CountyLink | None:
    """The county whose deployment owns ``center_id`` when the city only replicates it, else None
    (a center of the city's own deployment)."""
    return session.scalars(select(CountyLink).join(CountyChain, CountyChain.county_id == CountyLink.id)
                           .where(CountyChain.center_id == center_id)).first()


def replica_centers(session: Session) -> dict[uuid.UUID, CountyLink]:
    """Every replicated center, with its county."""
    return {center_id: link for center_id, link in session.execute(
        select(CountyChain.center_id, CountyLink).join(CountyLink, CountyChain.county_id == CountyLink.id)).all()}


def county_by_code(session: Session, code: str) -> CountyLink | None:
    return session.scalars(select(CountyLink).where(CountyLink.code == code)).first()
