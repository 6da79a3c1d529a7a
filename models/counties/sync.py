"""One pull of a county, over a transport the caller gives (``workers/replication.py`` gives HTTP).

Why pull over HTTP, as Certificate Transparency monitors do, rather than a RabbitMQ stream: the
county already serves its signed heads and proofs over HTTP and needs no connection to the city;
any number of readers (the city, an auditor) pull the same log; the position to resume from is the
city's own copy (its last seq), kept in the transaction that stores and projects each page, so
either side restarting loses nothing and applies nothing twice, with no broker offset to keep in
step with the database.

A pull: the county's catalogue first (its centers, departments, items …), then for each of its
chains pages of events after the copy's last seq, each page checked (``verify``) against the
newest signed head served with it and stored and projected in one transaction (``replica``). A
page that does not check is a fork: the county is marked DIVERGED with the first seq where the
county's log and the city's copy differ, its copy is kept, nothing newer is projected, and the
supervisors are told (SMS through the outbox, ``ledgerBreaches`` live). A county that does not
answer keeps its replica and counts a failure (the worker backs off); STALE follows from the age
of the last pull that verified.
"""
from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from esupervision.models.access.account import Account
from esupervision.models.access.scope import Role
from esupervision.models.catalogue.catalogue import Staff
from esupervision.models.counties.link import CountyChain, CountyLink
from esupervision.models.counties.replica import apply_catalogue, stored_hashes, store_page
from esupervision.models.counties.verify import ReplicaFork, Tip, check_head, check_page, first_difference
from esupervision.models.ledger.checkpoint import CheckpointError, Verifier
from esupervision.models.ledger.transaction import Transaction, transaction
from esupervision.models.notices.notice import NoticeDraft, add_notices

log = logging.getLogger(__name__)
PAGE = 500
CATALOGUE_EVERY_S = 60.0
# When this process last copied each county's catalogue (time.monotonic()).
_catalogue_copied: dict[str, float] = {}
BREACH_TOPIC = "ledger.breach"     # the supervisors' ledgerBreaches subscription
BREACH_TEMPLATE = "ledger_breach"


class CountyUnreachable(Exception):
    """The county did not answer, or not as a county deployment answers (the transport's error)."""


# ``fetch(path, params)`` → the JSON document the county served; raises CountyUnreachable.
Fetch = Callable[[str, dict[str, Any]], Any]


@dataclass
class PullResult:
    code: str
    events: int = 0
    status: str = "live"
    error: str | None = None
    diverged_seq: int | None = None
    chains: dict[str, int] = field(default_factory=dict)


def verifier_for(link: CountyLink) -> Verifier:
    return Verifier.parse(link.public_key)


def pull(engine: Engine, code: str, fetch: Fetch, *, page: int = PAGE) -> PullResult:
    """Pull county ``code`` once: catalogue, then every chain up to the newest signed head."""
    result = PullResult(code)
    with transaction(engine) as tx:
        link = _link(tx, code)
        if link.diverged_at is not None:
            result.status, result.diverged_seq = "diverged", link.diverged_seq
            return result
        link.last_attempt_at = tx.now
        verifier = verifier_for(link)
    try:
        with transaction(engine) as tx:
            chains = list(tx.session.scalars(select(CountyChain).where(CountyChain.county_id == _link(tx, code).id)))
        if not chains or time.monotonic() - _catalogue_copied.get(code, -CATALOGUE_EVERY_S) >= CATALOGUE_EVERY_S:
            # The catalogue names the county's chains (a new township is a new chain): copied at
            # the first pull and once a minute, and whenever a page brings catalogue events or
            # names a row the copy lacks; not at every pull, a county's is hundreds of rows.
            _pull_catalogue(engine, code, fetch)
            with transaction(engine) as tx:
                chains = list(tx.session.scalars(select(CountyChain).where(
                    CountyChain.county_id == _link(tx, code).id)))
        for chain in chains:
            result.events += _pull_chain(engine, code, chain.center_id, verifier, fetch, page, result)
    except ReplicaFork as fork:
        _diverge(engine, code, fork, fetch, result)
        return result
    except (CountyUnreachable, CheckpointError, KeyError, TypeError, ValueError) as exc:
        # ValueError/KeyError/TypeError: a document that is not what a county serves.
        with transaction(engine) as tx:
            link = _link(tx, code)
            link.failures += 1
            link.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            tx.session.add(link)
        result.status, result.error = "stale", str(exc)
        return result
    with transaction(engine) as tx:
        link = _link(tx, code)
        link.last_pulled_at, link.failures, link.last_error = tx.now, 0, None
        heads = [c.head_at for c in tx.session.scalars(select(CountyChain).where(CountyChain.county_id == link.id))
                 if c.head_at is not None]
        link.last_head_at = max(heads) if heads else link.last_head_at
        tx.session.add(link)
    return result


def _link(tx: Transaction, code: str) -> CountyLink:
    from esupervision.models.errors import DomainError, ErrorCode
    link = tx.session.scalars(select(CountyLink).where(CountyLink.code == code)).first()
    if link is None:
        raise DomainError(ErrorCode.COUNTY_NOT_FOUND, f"未登记县区 {code} no county registered as {code}", county=code)
    return link


def _pull_catalogue(engine: Engine, code: str, fetch: Fetch) -> None:
    document = fetch("/replication/catalogue", {})
    _catalogue_copied[code] = time.monotonic()
    with transaction(engine) as tx:
        link = _link(tx, code)
        apply_catalogue(tx.session, link, document)
        known = {c for c in tx.session.scalars(select(CountyChain.center_id))}
        for center in document.get("center", []):
            center_id = uuid.UUID(center["id"])
            if center_id not in known:
                tx.session.add(CountyChain(center_id=center_id, county_id=link.id, code=center["code"]))
        tx.session.add(link)


def _pull_chain(engine: Engine, code: str, center_id: uuid.UUID, verifier: Verifier, fetch: Fetch, page: int,
                result: PullResult) -> int:
    written = 0
    while True:
        with transaction(engine) as tx:
            chain = tx.session.get(CountyChain, center_id)
            assert chain is not None
            tip = Tip(chain.size, chain.last_hash, chain.frontier)
            verified = (chain.head_size, chain.head_root)
        served = fetch(f"/ledger/{center_id}/events", {"after": tip.size, "limit": page})
        if served.get("checkpoint") is None:
            if tip.size:
                raise ReplicaFork(1, "县区不再提供城市已验证的链的签名树头 the county serves no head of a chain the city holds")
            return written   # no head signed yet: nothing to verify
        head = check_head(served["checkpoint"], verifier, center_id, tip, verified)
        events = served["events"]
        extended = check_page(center_id, tip, head, events, served.get("consistency", []))
        if not events and extended.size < head.size:
            raise CountyUnreachable(f"the county served no events after seq {tip.size} below its head of {head.size}")
        if any(event["body"]["kind"].startswith("catalogue.") for event in events):
            _pull_catalogue(engine, code, fetch)   # a new township, department, item …: its row first
        if not events and head.size == chain.head_size:
            result.chains[chain.code] = tip.size
            return written
        try:
            with transaction(engine) as tx:
                link = _link(tx, code)
                chain = tx.session.scalars(select(CountyChain).where(CountyChain.center_id == center_id)
                                           .with_for_update()).one()
                if link.diverged_at is not None:
                    return written
                if chain.size != tip.size:
                    continue    # another puller stored this page meanwhile: go on from its end
                written += store_page(tx, link, chain, head, served["checkpoint"], events, extended)
        except IntegrityError:
            # An event naming a catalogue row newer than the catalogue copied: copy it again, retry.
            _pull_catalogue(engine, code, fetch)
            continue
        if extended.size >= head.size:
            result.chains[chain.code] = extended.size
            return written


def _diverge(engine: Engine, code: str, fork: ReplicaFork, fetch: Fetch, result: PullResult) -> None:
    """Mark the county DIVERGED at the first seq where its log and the city's copy differ, and
    tell the supervisors."""
    center_id, seq = _locate(engine, code, fork, fetch)
    with transaction(engine) as tx:
        link = _link(tx, code)
        if link.diverged_at is not None:
            return
        link.diverged_at, link.diverged_center_id, link.diverged_seq = tx.now, center_id, seq
        link.diverged_detail = fork.detail[:2000]
        tx.session.add(link)
        tell_supervisors(tx, link, center_id, seq, fork.detail)
    log.error("county %s diverged at seq %s of %s: %s", code, seq, center_id, fork.detail)
    result.status, result.diverged_seq, result.error = "diverged", seq, fork.detail


def _locate(engine: Engine, code: str, fork: ReplicaFork, fetch: Fetch) -> tuple[uuid.UUID | None, int]:
    """The chain that forked and its first differing seq: the county's events compared with the
    city's copy from the start (a fork is rare; the copy is read once, page by page)."""
    with transaction(engine) as tx:
        chains = list(tx.session.scalars(select(CountyChain).where(CountyChain.county_id == _link(tx, code).id)))
    for chain in chains:
        after = 0
        try:
            while after < chain.size:
                served = fetch(f"/ledger/{chain.center_id}/events", {"after": after, "limit": PAGE})
                theirs = [(e["seq"], e["hash"]) for e in served["events"]]
                with transaction(engine) as tx:
                    ours = stored_hashes(tx.session, chain.center_id, after, min(PAGE, chain.size - after))
                differs = first_difference(ours, theirs[:len(ours)])
                if differs is not None:
                    return chain.center_id, differs
                if not theirs:
                    break
                after = ours[-1][0] if ours else chain.size
        except (CountyUnreachable, KeyError, TypeError, ValueError):
            break
    return (chains[0].center_id if len(chains) == 1 else None), fork.seq


def tell_supervisors(tx: Transaction, link: CountyLink, center_id: uuid.UUID | None, seq: int, detail: str) -> int:
    """The breach alert of a diverged county: live on ``ledgerBreaches``, SMS to every active
    supervisor with a phone (once per county and seq)."""
    first = f"{link.name}第{seq}条（县区账本分叉 diverged）"
    tx.announce(BREACH_TOPIC, {
        "detected_at": tx.now.isoformat(), "witness_record": None, "differences": [],
        "breaches": [{"center_id": str(center_id or link.center_id or link.id), "center": link.name, "seq": seq,
                      "event_id": None, "kind": "diverged", "detail": detail}]})
    key = "county.diverged:" + hashlib.sha256(f"{link.code}:{center_id}:{seq}".encode()).hexdigest()[:32]
    people = tx.session.execute(select(Staff.id, Staff.phone).join(Account, Account.staff_id == Staff.id).where(
        Account.role == Role.SUPERVISOR.value, Account.active.is_(True), Staff.phone.is_not(None))).all()
    return add_notices(tx, [NoticeDraft(
        key=key, subject_type="ledger", subject_id=center_id or link.id, center_id=None,
        template=BREACH_TEMPLATE, params={"count": 1, "first": first}, phone=person.phone,
        recipient_kind="staff", staff_id=person.id) for person in {p.id: p for p in people}.values()])


def register(tx: Transaction, *, code: str, url: str, public_key: str, token: str | None = None,
             name: str | None = None, parent_code: str | None = None) -> CountyLink:
    """Register a county deployment at the city (``esv counties add``). Refuses a code the city
    uses for a center of its own (``COUNTY_CODE_IN_USE``), a key that is no verifier key."""
    from esupervision.models.catalogue.catalogue import Center
    from esupervision.models.errors import DomainError, ErrorCode
    from esupervision.models.ledger.checkpoint import read_verifier

    session = tx.session
    try:
        verifier = read_verifier(public_key, tx.settings.ledger_log_name)
    except CheckpointError as exc:
        raise DomainError(ErrorCode.COUNTY_KEY_INVALID, f"公钥文件无效 the public key file is no verifier key: {exc}") \
            from None
    existing = session.scalars(select(CountyLink).where(CountyLink.code == code)).first()
    own = session.scalars(select(Center).where(Center.code == code)).first()
    if own is not None and (existing is None or own.id != existing.center_id):
        raise DomainError(ErrorCode.COUNTY_CODE_IN_USE,
                          f"本级已有编码为 {code} 的中心（{own.name}），县区独立部署须使用另一编码 "
                          f"the city has a center {code} of its own", county=code)
    if parent_code:
        parent = session.scalars(select(Center).where(Center.code == parent_code)).first()
        if parent is None:
            raise DomainError(ErrorCode.CENTER_NOT_FOUND, f"中心 {parent_code} 不存在", center=parent_code)
    else:
        parent = session.scalars(select(Center).where(Center.parent_id.is_(None), Center.level == "city")
                                 .order_by(Center.created_at)).first()
    link = existing or CountyLink(code=code, name=name or code, url=url, public_key=verifier.text(),
                                  created_at=tx.now)
    link.url, link.public_key, link.token = url.rstrip("/"), verifier.text(), token
    link.name = name or link.name
    link.parent_center_id = parent.id if parent else None
    session.add(link)
    session.flush()
    return link
