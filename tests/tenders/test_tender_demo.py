"""The demo's tenders: a trading center per county, tenders in every stage and light, and
irregular ones raising every red flag, all through the service functions and on the ledger."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.demo import build_demo
from esupervision.models.catalogue.catalogue import Center
from esupervision.models.clocks.clock import Clock
from esupervision.models.ledger.ledger import verify_ledger
from esupervision.models.clocks.light import light_at
from esupervision.models.tenders.redflags import INDICATORS, TenderRedFlag
from esupervision.models.tenders.tender import Tender, TenderStageRow
from esupervision.models.tenders.rules import TenderStage
from esupervision.settings import get_settings
from esupervision.tender_demo import build_tender_demo


@pytest.fixture
def demo(engine, fixed_time):
    build_demo(engine, now=fixed_time.now(), cases=0)
    counts = build_tender_demo(engine, now=fixed_time.now())
    return engine, counts


def test_every_stage_light_and_flag(demo, fixed_time):
    engine, counts = demo
    assert counts["tender_refused"] == 0 and counts["tender_events"] > 0, counts
    now = fixed_time.now()
    with Session(engine) as s:
        centers = s.scalars(select(Center).where(Center.code.endswith("-ZB"))).all()
        assert len(centers) == 3 and all(c.name.endswith("公共资源交易中心") for c in centers)
        tenders = s.scalars(select(Tender)).all()
        assert {t.stage for t in tenders} == {s.value for s in TenderStage}
        assert any(t.suspended for t in tenders)
        lights = Counter()
        open_stages = s.scalars(select(TenderStageRow).where(TenderStageRow.status.in_(["running", "paused"]))).all()
        for stage in open_stages:
            if stage.clock_id is None:   # a floor (or an evaluation without a committed time): no light
                assert stage.period_kind in ("floor", "none")
                continue
            reading = light_at(s.get(Clock, stage.clock_id), now)
            lights["paused" if reading.paused else reading.light.value] += 1
        assert {"white", "yellow", "red", "paused"} <= set(lights)
        assert {"floor", "committed", "deadline", "none"} <= {stage.period_kind for stage in open_stages}
        flags = {f.code for f in s.scalars(select(TenderRedFlag).where(TenderRedFlag.cleared_at.is_(None)))}
        assert flags == set(INDICATORS), set(INDICATORS) - flags
        checked, breach = verify_ledger(s, get_settings().ledger_signing_key)
        assert breach is None and checked > 0
