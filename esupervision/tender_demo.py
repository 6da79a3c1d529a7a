"""The demo's tenders: a public resource trading center (公共资源交易中心) per county, with
construction tenders in every stage and light, and irregular ones that raise each red flag —
all reported through ``ingest_tender_events`` as the trading platform would, in time order, so
the ledger holds every record. Run after ``build_demo`` (``esv demo`` does).
"""
from __future__ import annotations

import random
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from esupervision.models.base import utc
from esupervision.models.catalogue.catalogue import Center, CenterLevel, Department, create_center, create_department
from esupervision.models.clocks.calendar import default_calendar
from esupervision.models.clocks.clock import LOCAL_TZ, local_date
from esupervision.models.tenders.redflags import _regular_spacing, refresh_all
from esupervision.models.tenders.tender import TenderEvent, earliest_end, ingest_tender_events
from esupervision.models.tenders.rules import TenderAction as A
from esupervision.models.ledger.transaction import transaction

SOURCE = "demo:tenders"
ACTOR = "demo"
PROJECTS = ("第一中学教学楼", "人民医院门诊综合楼", "城区污水管网改造", "县道路面大修", "农村饮水安全巩固提升",
            "体育馆", "老旧小区改造", "河道综合治理", "职业教育中心实训楼", "政务服务中心装修",
            "乡镇卫生院迁建", "产业园区道路", "文化馆", "敬老院扩建", "高标准农田建设", "垃圾中转站",
            "公共停车场", "桥梁加固", "幼儿园新建", "图书馆改造", "消防站", "农贸市场改造", "公园绿化",
            "供水厂扩建", "保障性住房", "中心小学风雨操场", "排涝泵站", "客运站", "殡仪馆改造", "中医院病房楼")
FIRMS = ("宏达", "华建", "恒信", "鼎盛", "中兴", "安泰", "广厦", "远大", "金石", "永固", "天成", "宏图",
         "盛世", "开元", "东方", "长城", "建安", "通达", "瑞丰", "鸿运", "华夏", "泰和", "众诚", "海川")
KINDS = ("建设工程有限公司", "建筑工程集团有限公司", "市政工程有限公司", "建工集团股份有限公司")


@dataclass
class Plan:
    """One tender on paper: its events (instant, action, attributes) and what it should show."""

    code: str
    story: str
    events: list[tuple[datetime, A, dict[str, Any]]] = field(default_factory=list)


class Teller:
    """Writes the events of one county's tenders for a story and a target stage at ``now``."""

    def __init__(self, rng: random.Random, now: datetime, center_code: str, prefix: str, firms: list[tuple[str, str]]):
        self.rng, self.now, self.center_code, self.prefix, self.firms = rng, now, center_code, prefix, firms
        self.n = 0

    def _at(self, day_offset: float, hour: int = 9, minute: int = 30) -> datetime:
        day = local_date(self.now) + timedelta(days=int(day_offset))
        return datetime.combine(day, time(hour, minute), LOCAL_TZ)

    @staticmethod
    def _lawful(start: datetime, end: datetime, days: int) -> datetime:
        """``end``, or the same time of the floor's last day when ``end`` would come before it
        (a floor whose last day is a rest day ends on the next working day, 民法典 203)."""
        floor = earliest_end(default_calendar(), start, days)
        if end >= floor:
            return end
        return datetime.combine(local_date(floor), end.astimezone(LOCAL_TZ).time(), LOCAL_TZ)

    def plan(self, story: str, published: float, *, until: str, bidders: list[dict] | None = None,
             publish: dict | None = None, report: dict | None = None, award: dict | None = None,
             contract: dict | None = None, stop_before_open: bool = False, extra: list | None = None,
             gap: float | None = None, open_late_hours: int = 0, evaluation_days: int | None = 5) -> Plan:
        """A tender published ``published`` days from today (negative: in the past), carried to
        ``until`` (bids / open / report / publicity / award / contract / closed / failed)."""
        self.n += 1
        code = f"{self.prefix}-{self.n:03d}"
        plan = Plan(code, story)
        rng = self.rng
        p = self._at(published, 9, 0)
        # The floors of 条例 16 and 法 24, counted as the law counts them.
        deadline = self._lawful(p, self._at(published + 21, 9, 30), 20)
        estimate = float(rng.randrange(300, 3000) * 10_000)
        ceiling = round(estimate * 0.97, -3)
        attrs = {"center_code": self.center_code, "title": f"{rng.choice(PROJECTS)}工程施工",
                 "tenderer": rng.choice(("县教育局", "县卫生健康局", "县住房和城乡建设局", "县交通运输局", "县水利局")),
                 "agency": rng.choice(("清河招标代理有限公司", "正信工程咨询有限公司", "中诚项目管理有限公司")),
                 "authority": "县住房和城乡建设局", "authority_department_code": "ZJJ", "estimate": estimate,
                 "ceiling_price": ceiling, "state_funded": rng.random() < 0.8,
                 "sale_end": self._lawful(p, self._at(published + 6, 17, 0), 5).isoformat(),
                 "bid_deadline": deadline.isoformat()}
        attrs.update(publish or {})
        estimate = float(attrs["estimate"])
        plan.events.append((p, A.PUBLISH, attrs))
        deadline = datetime.fromisoformat(attrs["bid_deadline"] or attrs["prequal_deadline"])
        if bidders is None:
            chosen = rng.sample(self.firms, rng.randint(4, 7))
            while True:   # a fair field: no two equal prices, no regular spacing (条例 40(4))
                base = estimate * rng.uniform(0.86, 0.95)
                step = gap if gap is not None else rng.uniform(0.015, 0.04)
                prices = sorted(round(base * (1 + step * i + rng.uniform(0, 0.01) * i), -2) for i in range(len(chosen)))
                if len(set(prices)) == len(prices) and _regular_spacing(prices, 3, 0.002) is None:
                    break
            bidders = [{"bidder": name, "bidder_code": bcode, "price": price} for (name, bcode), price in zip(chosen, prices)]
        for i, b in enumerate(bidders):
            b.setdefault("bond_amount", round(min(estimate * 0.02, 800_000) * 0.5, -2))
            b.setdefault("bond_account", f"6222{b['bidder_code'][-8:]}")
            b.setdefault("machine_code", f"MC-{b['bidder_code'][-6:]}")
            b.setdefault("project_manager", f"{'王李张刘陈杨赵黄周吴'[i % 10]}工{b['bidder_code'][-3:]}")
            b.setdefault("content", {"工期": f"{rng.randint(180, 540)} 日历天", "质量": "合格"})
            # spread over the bidding period, the last a day before the deadline
            at = b.pop("at", None) or p + (deadline - timedelta(days=1) - p) * (0.35 + 0.6 * i / len(bidders))
            plan.events.append((at, A.SUBMIT_BID, b))
        if until == "bids":
            return self._done(plan, extra)
        plan.events.append((deadline - timedelta(hours=2), A.FORM_COMMITTEE, {"members": [
            {"name": f"专家{rng.randint(100, 999)}", "kind": "expert"} for _ in range(4)] + [
            {"name": "招标人代表", "kind": "tenderer"}]}))
        if stop_before_open:
            return self._done(plan, extra)
        if until == "failed":
            plan.events.append((deadline, A.FAIL, {"reason": "投标人少于 3 个，依法重新招标"}))
            return self._done(plan, extra)
        # The trading center commits to an evaluation time (条例 48 sets none): its light.
        plan.events.append((deadline + timedelta(hours=open_late_hours), A.OPEN,
                            {"evaluation_days": evaluation_days} if evaluation_days else {}))
        if until == "open":
            return self._done(plan, extra)
        ranked = sorted(bidders, key=lambda b: b["price"])
        report = report or {}
        disqualified = report.get("disqualified", [])
        out = {d["bidder_code"] for d in disqualified}
        candidates = report.get("candidates") or [b["bidder_code"] for b in ranked if b["bidder_code"] not in out][:3]
        plan.events.append((deadline + timedelta(days=1, hours=6), A.REPORT_EVALUATION,
                            {"candidates": candidates, "disqualified": disqualified}))
        if until == "report":
            return self._done(plan, extra)
        end = self._lawful(deadline + timedelta(days=2), deadline + timedelta(days=5, hours=1), 3)   # 条例 54
        plan.events.append((deadline + timedelta(days=2), A.PUBLISH_CANDIDATES, {"publicity_end": end.isoformat()}))
        if until == "publicity":
            return self._done(plan, extra)
        award = {"bidder_code": candidates[0], **(award or {})}
        plan.events.append((end + timedelta(hours=1), A.AWARD, award))
        if until == "award":
            return self._done(plan, extra)
        winner = next(b for b in bidders if b["bidder_code"] == award["bidder_code"])
        contract = {"value": winner["price"], "performance_bond": round(winner["price"] * 0.05, -2), **(contract or {})}
        signed = end + timedelta(days=contract.pop("days", 10))
        plan.events.append((signed, A.SIGN_CONTRACT, contract))
        if until == "contract":
            return self._done(plan, extra)
        plan.events.append((signed + timedelta(days=3), A.RETURN_BONDS, {}))
        plan.events.append((end + timedelta(days=12), A.FILE_REPORT, {}))
        return self._done(plan, extra)

    def _done(self, plan: Plan, extra: list | None) -> Plan:
        plan.events.extend(extra or [])
        plan.events.sort(key=lambda e: e[0])
        return plan


def _firms(rng: random.Random, county: str) -> list[tuple[str, str]]:
    names = [f"{county}{f}{k}" for f in FIRMS for k in KINDS[:1]] + [f"清河{f}{KINDS[1]}" for f in FIRMS[:8]]
    # 统一社会信用代码-like, stable across runs (no salted hash).
    return [(name, f"91{zlib.crc32(name.encode()):010d}{i:06d}") for i, name in enumerate(names)]


def plan_county(rng: random.Random, now: datetime, center_code: str, prefix: str, county: str) -> list[Plan]:
    """The tenders of one county: every stage and light, then the irregular ones."""
    firms = _firms(random.Random(f"{county}"), county)
    t = Teller(rng, now, center_code, prefix, firms)

    def group(k: int) -> list[tuple[str, str]]:
        return rng.sample(firms, k)

    plans = [
        t.plan("投标期（法定最短期限，无倒计时灯）", -3, until="bids"),
        t.plan("投标期将满", -18, until="bids"),
        t.plan("已过投标截止未开标", -23, until="bids", stop_before_open=True),
        t.plan("资格预审中", -4, until="bids", bidders=[], publish={
            "prequalification": True, "bid_deadline": None,
            "prequal_deadline": t._at(13, 9, 30).isoformat()}),
        t.plan("评标中（承诺 5 日，白灯）", -22, until="open"),
        t.plan("评标超过承诺时间（红灯）", -35, until="open"),
        t.plan("评标中（未承诺时间，无灯）", -23, until="open", evaluation_days=None),
        t.plan("待公示候选人（黄灯）", -25, until="report"),
        t.plan("候选人公示中", -25, until="publicity"),
        t.plan("已定标待签合同（白灯）", -30, until="award"),
        t.plan("定标后超 30 日未签合同、未报告（红灯）", -62, until="award"),
        t.plan("已签合同待退保证金（黄灯）", -41, until="contract"),
        t.plan("流标", -30, until="failed", bidders=[
            {"bidder": n, "bidder_code": c, "price": 1_000_000 + i * 50_000} for i, (n, c) in enumerate(group(2))]),
        t.plan("异议处理中（暂停）", -5, until="bids",
               extra=[(t._at(-1, 10), A.OBJECT, {"about": "documents", "party": "潜在投标人"})]),
        *[t.plan("已完成", -70 - 3 * i, until="closed") for i in range(5)],
    ]
    closed_with_complaint = t.plan("投诉处理中", -45, until="contract")
    award_at = next(at for at, action, _ in closed_with_complaint.events if action is A.AWARD)
    closed_with_complaint.events += [
        (award_at + timedelta(days=2), A.COMPLAIN, {"party": "未中标投标人", "about": "evaluation",
                                                    "knew_at": award_at.isoformat()}),
        (award_at + timedelta(days=3), A.ACCEPT_COMPLAINT, {"accepted": True}),
        # 专家评审: not counted in the 30 working days (条例 61): its clock is paused.
        (award_at + timedelta(days=4), A.PAUSE_COMPLAINT, {"kind": "expert_review"})]
    plans.append(closed_with_complaint)
    return plans


def plan_irregular(rng: random.Random, now: datetime, counties: list[tuple[str, str, str]]) -> list[Plan]:
    """Tenders raising each red flag, spread over the counties."""
    out: list[Plan] = []
    tellers = [Teller(rng, now, c, f"{p}-X", _firms(random.Random(name), name)) for c, p, name in counties]

    def teller(i: int) -> Teller:
        return tellers[i % len(tellers)]

    def firms(i: int, k: int) -> list[tuple[str, str]]:
        return rng.sample(teller(i).firms, k)

    def bids(chosen: list[tuple[str, str]], prices: list[float], **extra: Any) -> list[dict]:
        return [{"bidder": n, "bidder_code": c, "price": p, **extra} for (n, c), p in zip(chosen, prices)]

    f = firms(0, 4)
    out.append(teller(0).plan("R003 投标期过短（非依法必须招标）", -50, until="closed", publish={
        "legally_required": False, "bid_deadline": teller(0)._at(-50 + 10, 9, 30).isoformat()}))
    out.append(teller(1).plan("R019 仅三家投标", -60, until="closed", bidders=bids(firms(1, 3), [8_100_000, 8_400_000, 8_650_000])))
    f = firms(2, 4)
    out.append(teller(2).plan("R018/R035 除中标人外均被否决", -60, until="closed", bidders=bids(f, [7_200_000, 7_350_000, 7_500_000, 7_610_000]),
                              report={"candidates": [f[0][1]], "disqualified": [
                                  {"bidder_code": c, "reason": "项目经理资格不符"} for _, c in f[1:]]}))
    f = firms(3, 5)
    out.append(teller(3).plan("R028 报价相同", -58, until="closed", bidders=bids(f, [6_500_000, 6_720_000, 6_720_000, 6_900_000, 7_010_000])))
    f = firms(4, 4)
    out.append(teller(4).plan("R023 报价呈等差", -56, until="closed", bidders=bids(f, [5_400_000, 5_510_000, 5_620_000, 5_730_000])))
    out.append(teller(5).plan("R024 次低价与中标价过近", -54, until="closed",
                              bidders=bids(firms(5, 4), [9_000_000, 9_009_000, 9_300_000, 9_500_000])))
    out.append(teller(6).plan("R058 中标价大幅低于次低价", -52, until="closed",
                              bidders=bids(firms(6, 4), [5_000_000, 7_600_000, 7_800_000, 7_950_000])))
    f = firms(7, 4)
    t = teller(7)
    plan = t.plan("R031 中标价超过最高投标限价", -50, until="closed", publish={"ceiling_price": 9_000_000, "estimate": 9_500_000},
                  bidders=bids(f, [9_050_000, 9_200_000, 9_280_000, 9_400_000]))
    out.append(plan)
    f = firms(8, 4)
    t = teller(8)
    late = bids(f, [6_100_000, 6_300_000, 6_420_000, 6_580_000])
    out.append(t.plan("R030 截止后补录的投标中标", -48, until="closed", bidders=late, open_late_hours=3))
    f = firms(9, 4)
    out.append(teller(9).plan("R036 经评审最低价法下最低价被否决", -46, until="closed", publish={"award_criteria": "price_only"},
                              bidders=bids(f, [4_800_000, 5_050_000, 5_120_000, 5_300_000]),
                              report={"disqualified": [{"bidder_code": f[0][1], "reason": "报价低于成本"}]}))
    out.append(teller(10).plan("R060 定标后 38 日才签合同", -80, until="closed", contract={"days": 38}))
    out.append(teller(11).plan("R059 合同金额与中标金额不一致", -66, until="closed", contract={"value_delta": 350_000}))
    f = firms(12, 4)
    out.append(teller(12).plan("条例 40 同一机器制作投标文件", -18, until="bids", bidders=[
        *bids(f[:2], [7_700_000, 7_780_000], machine_code="MC-7F3A90"), *bids(f[2:], [7_900_000, 8_020_000])]))
    f = firms(13, 4)
    out.append(teller(13).plan("条例 40 保证金从同一账户转出", -18, until="bids", bidders=[
        *bids(f[:2], [6_700_000, 6_790_000], bond_account="6222020200114455"), *bids(f[2:], [6_880_000, 6_950_000])]))
    f = firms(14, 4)
    out.append(teller(14).plan("条例 40 同一项目经理", -17, until="bids", bidders=[
        *bids(f[:2], [5_600_000, 5_660_000], project_manager="赵建国"), *bids(f[2:], [5_780_000, 5_900_000])]))
    # R057: one group of three taking turns over three tenders of one county.
    t = teller(15)
    group = rng.sample(t.firms, 3)
    for i in range(3):
        prices = {c: 8_000_000 + 120_000 * ((j - i) % 3) for j, (_, c) in enumerate(group)}
        out.append(t.plan(f"R057 轮流中标 {i + 1}/3", -90 + 12 * i, until="closed",
                          bidders=[{"bidder": n, "bidder_code": c, "price": prices[c]} for n, c in group]))
    for plan in out:
        for _, action, attrs in plan.events:
            if action is A.SIGN_CONTRACT and "value_delta" in attrs:
                attrs["value"] = attrs["value"] + attrs.pop("value_delta")
    return out


def _mark_late(plans: list[Plan]) -> set[tuple[str, int]]:
    """The R030 tender's winning bid is reported two hours after the deadline."""
    marks = set()
    for plan in plans:
        if plan.story.startswith("R030"):
            i = next(i for i, e in enumerate(plan.events) if e[1] is A.SUBMIT_BID)
            marks.add((plan.code, i))
    return marks


def build_tender_demo(engine: Engine, *, now: datetime, seed: int = 7,
                      progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Build a trading center per county and its tenders; returns counts (tenders, tender_events,
    tender_refused, flags by code). Deterministic for ``seed`` and ``now`` (ids aside)."""
    now = utc(now)
    rng = random.Random(f"{seed}:tenders")
    report = progress or (lambda phase, done, total: None)
    start = now - timedelta(days=100)
    with transaction(engine, actor=ACTOR, now=start) as tx:
        counties = list(tx.session.scalars(select(Center).where(Center.level == CenterLevel.COUNTY.value)
                                           .order_by(Center.code)))
        made = []
        for county in counties:
            if county.code.endswith("-ZB"):
                continue
            code = f"{county.code}-ZB"
            place = county.name.replace("行政服务中心", "")
            zb = tx.session.scalars(select(Center).where(Center.code == code)).first() or create_center(
                tx, code=code, name=f"{place}公共资源交易中心", level=CenterLevel.COUNTY, parent_code=county.code)
            if not tx.session.scalars(select(Department).where(Department.center_id == zb.id)).first():
                create_department(tx, center=zb, code="JYZX", name="交易中心")
            made.append((code, f"ZB-{county.code.split('-')[-1]}", place))
    plans: list[Plan] = []
    for code, prefix, place in made:
        plans += plan_county(rng, now, code, prefix, place)
    plans += plan_irregular(rng, now, made)
    late = _mark_late(plans)
    events: list[tuple[datetime, int, TenderEvent, bool]] = []
    order = 0
    for plan in plans:
        for i, (at, action, attrs) in enumerate(plan.events):
            if at > now - timedelta(minutes=2):
                continue
            order += 1
            event = TenderEvent(f"{plan.code}-{i + 1:02d}", plan.code, action, at, dict(attrs))
            reported_late = (plan.code, i) in late
            # A back-dated bid: claims to precede the deadline, recorded two hours after it.
            recorded = _deadline_of(plans, event) + timedelta(hours=2) if reported_late else utc(at)
            events.append((recorded, order, event, reported_late))
    events.sort(key=lambda e: (e[0], e[1]))
    counts: dict[str, int] = defaultdict(int)
    counts["tenders"] = len(plans)
    # Named apart from the cases' own counts: ``esv demo`` prints both in one summary.
    counts["tender_events"] = counts["tender_refused"] = 0
    batch: list[TenderEvent] = []
    batch_end: datetime | None = None
    done = 0

    def flush(until: datetime) -> None:
        nonlocal batch, done
        if batch:
            with transaction(engine, actor=SOURCE, now=min(until + timedelta(minutes=1), now)) as tx:
                for outcome in ingest_tender_events(tx, batch, source=SOURCE):
                    counts["tender_events" if outcome.status == "accepted" else "tender_refused"] += 1
            done += len(batch)
            report("tenders", done, len(events))
        batch = []

    for at, _, event, reported_late in events:
        if reported_late:
            flush(batch_end or at)
            with transaction(engine, actor=SOURCE, now=min(at, now)) as tx:
                outcome = ingest_tender_events(tx, [event], source=SOURCE)[0]
                counts["tender_events" if outcome.status == "accepted" else "tender_refused"] += 1
            done += 1
            report("tenders", done, len(events))
            continue
        if batch_end is not None and at - batch_end > timedelta(hours=1):
            flush(batch_end)
        batch.append(event)
        batch_end = at
    if batch_end is not None:
        flush(batch_end)
    with transaction(engine, actor="system:redflags", now=now) as tx:
        standing = refresh_all(tx)
    from esupervision.workers.lights import announce_due
    with transaction(engine, actor="system:lights", now=now) as tx:
        while announce_due(tx, limit=500):
            pass
    counts.update({f"flag_{k}": v for k, v in standing.items()})
    return dict(counts)


def _deadline_of(plans: list[Plan], event: TenderEvent) -> datetime:
    plan = next(p for p in plans if p.code == event.tender_code)
    attrs = plan.events[0][2]
    return utc(datetime.fromisoformat(attrs["bid_deadline"]))
