"""The statutory limits of tendering as data: each rule names its article, so a refusal, a stage's
legal basis and a red flag's evidence all cite the same words.

法 = 中华人民共和国招标投标法; 条例 = 中华人民共和国招标投标法实施条例. Limits are in calendar
(natural) days unless ``basis`` says working days.

A period is one of two kinds (DESIGN decision 10), and the kind is part of the rule:

- a **floor** (``PeriodKind.FLOOR``, 不得少于): the law's minimum. Ending *before* it is the breach;
  lasting longer is lawful, never overdue, and has no countdown light. It is shown with its
  earliest lawful end.
- a **deadline** (``PeriodKind.DEADLINE``, ……日内): ending *after* it is the breach; it runs on a
  clock of the core with its white, yellow and red lights.

A floor's last day counts like any natural-day period's: when it is a rest day the period ends on
the next working day (民法典 203, which 民法典 204 makes the rule for periods the law does not count
otherwise; ``WorkCalendar.natural_period_end``). For a floor this only ever makes the earliest
lawful end later, never earlier: a tenderer who ends the period on the rest day that would have
been its last day ends it early.

评标 has no statutory length: 条例 48 asks the tenderer to fix a reasonable time (合理确定评标时间)
and to lengthen it when more than a third of the committee finds it too short. Its rule has no
days and no kind; the evaluation has a light only when the trading center commits to a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from esupervision.models.clocks.clock import Basis


class PeriodKind(StrEnum):
    """What a statutory period limits: its shortest lawful length or its longest."""

    FLOOR = "floor"          # 不得少于 N 日: ending earlier is the breach
    DEADLINE = "deadline"    # N 日内: ending later is the breach


class StagePeriod(StrEnum):
    """How a stage of a tender is timed: by the law's floor, the law's deadline, a time the
    trading center committed to, or nothing (the evaluation without a commitment)."""

    FLOOR = "floor"
    DEADLINE = "deadline"
    COMMITTED = "committed"
    NONE = "none"


@dataclass(frozen=True)
class Rule:
    """One statutory rule: what it says, where, its number of days (or percent), and, for a
    period, whether it is a floor or a deadline."""

    code: str
    article: str          # e.g. "条例 16"
    text: str             # the rule as the article words it, as shown to users
    days: int | None = None
    basis: Basis = Basis.NATURAL
    percent: float | None = None
    kind: PeriodKind | None = None

    @property
    def legal_basis(self) -> str:
        return f"{self.article}：{self.text}"


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rules}


F, D = PeriodKind.FLOOR, PeriodKind.DEADLINE

RULES: dict[str, Rule] = _rules(
    Rule("SALE_MIN_DAYS", "条例 16", "资格预审文件或者招标文件的发售期不得少于5日", days=5, kind=F),
    Rule("PREQUAL_MIN_DAYS", "条例 17", "依法必须进行招标的项目提交资格预审申请文件的时间，自资格预审文件停止发售之日起不得少于5日", days=5, kind=F),
    Rule("BID_MIN_DAYS", "法 24", "依法必须进行招标的项目，自招标文件开始发出之日起至投标人提交投标文件截止之日止，最短不得少于二十日", days=20, kind=F),
    Rule("AMEND_MIN_DAYS", "法 23、条例 21", "澄清或者修改可能影响投标文件编制的，招标人应当在投标截止时间至少15日前，以书面形式通知所有获取招标文件的潜在投标人；不足15日的，招标人应当顺延提交投标文件的截止时间", days=15, kind=F),
    Rule("AMEND_PREQUAL_MIN_DAYS", "条例 21", "澄清或者修改可能影响资格预审申请文件编制的，招标人应当在提交资格预审申请文件截止时间至少3日前通知；不足3日的，应当顺延截止时间", days=3, kind=F),
    Rule("OBJECTION_DOCS_DAYS", "条例 22", "潜在投标人或者其他利害关系人对招标文件有异议的，应当在投标截止时间10日前提出", days=10, kind=D),
    Rule("OBJECTION_PREQUAL_DAYS", "条例 22", "潜在投标人或者其他利害关系人对资格预审文件有异议的，应当在提交资格预审申请文件截止时间2日前提出", days=2, kind=D),
    Rule("OBJECTION_ANSWER_DAYS", "条例 22、54", "招标人应当自收到异议之日起3日内作出答复；作出答复前，应当暂停招标投标活动", days=3, kind=D),
    Rule("OPENING_OBJECTION", "条例 44", "投标人对开标有异议的，应当在开标现场提出，招标人应当当场作出答复，并制作记录", days=0, kind=D),
    Rule("BIDDERS_SECRET", "法 22", "招标人不得向他人透露已获取招标文件的潜在投标人的名称、数量以及可能影响公平竞争的有关招标投标的其他情况"),
    Rule("LATE_BID", "法 28", "在招标文件要求提交投标文件的截止时间后送达的投标文件，招标人应当拒收"),
    Rule("OPEN_AT_DEADLINE", "法 34", "开标应当在招标文件确定的提交投标文件截止时间的同一时间公开进行"),
    Rule("MIN_BIDDERS", "法 28、条例 44", "投标人少于3个的，不得开标；招标人应当重新招标"),
    Rule("COMMITTEE", "法 37", "评标委员会成员人数为五人以上单数，其中技术、经济等方面的专家不得少于成员总数的三分之二"),
    # No statutory length: the tenderer fixes a reasonable time (no days, no kind).
    Rule("EVALUATION_TIME", "条例 48", "招标人应当根据项目规模和技术复杂程度等因素合理确定评标时间。超过三分之一的评标委员会成员认为评标时间不够的，招标人应当适当延长"),
    Rule("PUBLISH_CANDIDATES_DAYS", "条例 54", "依法必须进行招标的项目，招标人应当自收到评标报告之日起3日内公示中标候选人", days=3, kind=D),
    Rule("PUBLICITY_MIN_DAYS", "条例 54", "依法必须进行招标的项目，中标候选人公示期不得少于3日", days=3, kind=F),
    Rule("FIRST_CANDIDATE", "条例 55", "国有资金占控股或者主导地位的依法必须进行招标的项目，招标人应当确定排名第一的中标候选人为中标人"),
    Rule("CONTRACT_DAYS", "法 46", "招标人和中标人应当自中标通知书发出之日起三十日内，按照招标文件和中标人的投标文件订立书面合同", days=30, kind=D),
    Rule("REPORT_DAYS", "法 47", "依法必须进行招标的项目，招标人应当自确定中标人之日起十五日内，向有关行政监督部门提交招标投标情况的书面报告", days=15, kind=D),
    Rule("BID_BOND_PERCENT", "条例 26", "投标保证金不得超过招标项目估算价的2%", percent=2.0),
    Rule("BOND_RETURN_DAYS", "条例 57", "招标人最迟应当在书面合同签订后5日内向中标人和未中标的投标人退还投标保证金及银行同期存款利息", days=5, kind=D),
    Rule("PERFORMANCE_BOND_PERCENT", "条例 58", "履约保证金不得超过中标合同金额的10%", percent=10.0),
    Rule("COMPLAINT_FILE_DAYS", "条例 60", "投标人或者其他利害关系人认为招标投标活动不符合法律、行政法规规定的，可以自知道或者应当知道之日起10日内向有关行政监督部门投诉", days=10, kind=D),
    Rule("COMPLAINT_ACCEPT_DAYS", "条例 61", "行政监督部门应当自收到投诉之日起3个工作日内决定是否受理投诉", days=3, basis=Basis.WORKING, kind=D),
    Rule("COMPLAINT_DECIDE_DAYS", "条例 61", "行政监督部门应当自受理投诉之日起30个工作日内作出书面处理决定；需要检验、检测、鉴定、专家评审的，所需时间不计算在内", days=30, basis=Basis.WORKING, kind=D),
    Rule("COLLUSION", "条例 40", "视为投标人相互串通投标的情形：不同投标人的投标文件由同一单位或者个人编制；委托同一单位或者个人办理投标事宜；投标文件异常一致或者投标报价呈规律性差异；投标保证金从同一单位或者个人的账户转出"),
    Rule("STAGE_ORDER", "法 第三、四章", "招标投标活动应当按照招标、投标、开标、评标和中标的法定程序依次进行"),
)
# Codes of rules renamed since they were stored on stage rows.
_RENAMED = {"EVALUATION_DAYS": "EVALUATION_TIME"}


def rule(code: str) -> Rule:
    """The rule with this code (also under a code it had before)."""
    return RULES[_RENAMED.get(code, code)]


class TenderStage(StrEnum):
    """Where a tender is in its statutory process (main line)."""

    PREQUALIFICATION = "prequalification"  # 资格预审
    BIDDING = "bidding"                    # 招标文件发售、投标
    EVALUATION = "evaluation"              # 开标后评标
    REPORTED = "reported"                  # 评标报告已提交，待公示
    PUBLICITY = "publicity"                # 中标候选人公示
    AWARDED = "awarded"                    # 中标通知书已发出
    CONTRACTED = "contracted"              # 合同已订立
    CLOSED = "closed"                      # 完成（保证金已退、报告已交）
    FAILED = "failed"                      # 流标 / 终止


STAGE_LABELS = {
    TenderStage.PREQUALIFICATION: "资格预审", TenderStage.BIDDING: "投标", TenderStage.EVALUATION: "评标",
    TenderStage.REPORTED: "待公示", TenderStage.PUBLICITY: "中标候选人公示", TenderStage.AWARDED: "已定标",
    TenderStage.CONTRACTED: "已签合同", TenderStage.CLOSED: "已完成", TenderStage.FAILED: "流标/终止",
}

FINAL_STAGES = frozenset({TenderStage.CLOSED, TenderStage.FAILED})


class ClockKind(StrEnum):
    """The timed periods (stages) of a tender. A deadline runs on a clock of the core; a floor
    has no clock, only its earliest lawful end; the evaluation has a clock only when the trading
    center commits to a time."""

    SALE = "sale"                          # 招标文件发售期
    PREQUALIFICATION = "prequalification"  # 资格预审申请期
    BIDDING = "bidding"                    # 投标期（至投标截止 = 开标时间）
    EVALUATION = "evaluation"              # 评标
    PUBLISH_CANDIDATES = "publish_candidates"  # 评标报告后公示候选人
    PUBLICITY = "publicity"                # 公示期
    CONTRACT = "contract"                  # 订立合同
    REPORT = "report"                      # 书面报告
    BOND_RETURN = "bond_return"            # 退还投标保证金
    OBJECTION = "objection"                # 异议答复
    COMPLAINT_ACCEPT = "complaint_accept"  # 投诉受理
    COMPLAINT_DECIDE = "complaint_decide"  # 投诉处理


# The name shown to users and the rule of each period (whose kind says floor or deadline).
CLOCKS: dict[ClockKind, tuple[str, str]] = {
    ClockKind.SALE: ("招标文件发售", "SALE_MIN_DAYS"),
    ClockKind.PREQUALIFICATION: ("资格预审申请", "PREQUAL_MIN_DAYS"),
    ClockKind.BIDDING: ("投标（至投标截止、开标）", "BID_MIN_DAYS"),
    ClockKind.EVALUATION: ("评标", "EVALUATION_TIME"),
    ClockKind.PUBLISH_CANDIDATES: ("公示中标候选人", "PUBLISH_CANDIDATES_DAYS"),
    ClockKind.PUBLICITY: ("中标候选人公示期", "PUBLICITY_MIN_DAYS"),
    ClockKind.CONTRACT: ("订立书面合同", "CONTRACT_DAYS"),
    ClockKind.REPORT: ("向行政监督部门提交书面报告", "REPORT_DAYS"),
    ClockKind.BOND_RETURN: ("退还投标保证金", "BOND_RETURN_DAYS"),
    ClockKind.OBJECTION: ("答复异议", "OBJECTION_ANSWER_DAYS"),
    ClockKind.COMPLAINT_ACCEPT: ("决定是否受理投诉", "COMPLAINT_ACCEPT_DAYS"),
    ClockKind.COMPLAINT_DECIDE: ("作出投诉处理决定", "COMPLAINT_DECIDE_DAYS"),
}


def clock_rule(kind: ClockKind) -> Rule:
    return RULES[CLOCKS[kind][1]]


def floors() -> list[Rule]:
    """The statutory minimum periods (不得少于): ending earlier is the breach."""
    return [r for r in RULES.values() if r.kind is PeriodKind.FLOOR]


def deadlines() -> list[Rule]:
    """The statutory maximum periods (……日内): ending later is the breach."""
    return [r for r in RULES.values() if r.kind is PeriodKind.DEADLINE]


class TenderAction(StrEnum):
    """Every stage event a tender center's system reports, and the mutations call."""

    PUBLISH = "publish"                    # 发布招标公告 / 资格预审公告，发售文件
    PREQUALIFY = "prequalify"              # 资格预审完成，发出投标邀请
    AMEND = "amend"                        # 澄清或者修改（可顺延截止时间）
    OBJECT = "object"                      # 提出异议（暂停）
    ANSWER_OBJECTION = "answer_objection"  # 答复异议（恢复）
    SUBMIT_BID = "submit_bid"              # 递交投标文件
    WITHDRAW_BID = "withdraw_bid"          # 撤回投标文件
    FORM_COMMITTEE = "form_committee"      # 组建评标委员会
    OPEN = "open"                          # 开标
    FAIL = "fail"                          # 流标 / 终止，重新招标
    REPORT_EVALUATION = "report_evaluation"  # 提交评标报告（推荐中标候选人，否决投标）
    PUBLISH_CANDIDATES = "publish_candidates"  # 公示中标候选人
    AWARD = "award"                        # 确定中标人，发出中标通知书
    SIGN_CONTRACT = "sign_contract"        # 订立合同（履约保证金）
    RETURN_BONDS = "return_bonds"          # 退还投标保证金
    FILE_REPORT = "file_report"            # 提交书面报告
    COMPLAIN = "complain"                  # 投诉
    ACCEPT_COMPLAINT = "accept_complaint"  # 受理 / 不予受理投诉
    PAUSE_COMPLAINT = "pause_complaint"    # 检验、检测、鉴定、专家评审（不计时）
    RESUME_COMPLAINT = "resume_complaint"
    DECIDE_COMPLAINT = "decide_complaint"  # 作出处理决定


ACTION_LABELS = {
    TenderAction.PUBLISH: "发布公告、发售文件", TenderAction.PREQUALIFY: "资格预审完成",
    TenderAction.AMEND: "澄清或者修改", TenderAction.OBJECT: "提出异议", TenderAction.ANSWER_OBJECTION: "答复异议",
    TenderAction.SUBMIT_BID: "递交投标文件", TenderAction.WITHDRAW_BID: "撤回投标文件",
    TenderAction.FORM_COMMITTEE: "组建评标委员会", TenderAction.OPEN: "开标", TenderAction.FAIL: "流标/终止",
    TenderAction.REPORT_EVALUATION: "提交评标报告", TenderAction.PUBLISH_CANDIDATES: "公示中标候选人",
    TenderAction.AWARD: "发出中标通知书", TenderAction.SIGN_CONTRACT: "订立合同",
    TenderAction.RETURN_BONDS: "退还投标保证金", TenderAction.FILE_REPORT: "提交书面报告",
    TenderAction.COMPLAIN: "投诉", TenderAction.ACCEPT_COMPLAINT: "受理投诉",
    TenderAction.PAUSE_COMPLAINT: "投诉处理暂停计时", TenderAction.RESUME_COMPLAINT: "投诉处理恢复计时",
    TenderAction.DECIDE_COMPLAINT: "作出投诉处理决定",
}

# Which main-line stages an action is allowed in (None: the tender must not exist yet).
ALLOWED: dict[TenderAction, frozenset[TenderStage | None]] = {
    TenderAction.PUBLISH: frozenset({None}),
    TenderAction.PREQUALIFY: frozenset({TenderStage.PREQUALIFICATION}),
    TenderAction.AMEND: frozenset({TenderStage.PREQUALIFICATION, TenderStage.BIDDING}),
    TenderAction.OBJECT: frozenset({TenderStage.PREQUALIFICATION, TenderStage.BIDDING, TenderStage.EVALUATION,
                                    TenderStage.PUBLICITY}),
    TenderAction.ANSWER_OBJECTION: frozenset(set(TenderStage) - FINAL_STAGES),
    TenderAction.SUBMIT_BID: frozenset({TenderStage.BIDDING}),
    TenderAction.WITHDRAW_BID: frozenset({TenderStage.BIDDING}),
    TenderAction.FORM_COMMITTEE: frozenset({TenderStage.BIDDING, TenderStage.EVALUATION}),
    TenderAction.OPEN: frozenset({TenderStage.BIDDING}),
    TenderAction.FAIL: frozenset(set(TenderStage) - FINAL_STAGES - {TenderStage.CONTRACTED}),
    TenderAction.REPORT_EVALUATION: frozenset({TenderStage.EVALUATION}),
    TenderAction.PUBLISH_CANDIDATES: frozenset({TenderStage.REPORTED}),
    TenderAction.AWARD: frozenset({TenderStage.PUBLICITY}),
    TenderAction.SIGN_CONTRACT: frozenset({TenderStage.AWARDED}),
    TenderAction.RETURN_BONDS: frozenset({TenderStage.CONTRACTED}),
    TenderAction.FILE_REPORT: frozenset({TenderStage.AWARDED, TenderStage.CONTRACTED}),
    TenderAction.COMPLAIN: frozenset(set(TenderStage) - {TenderStage.FAILED}),
    TenderAction.ACCEPT_COMPLAINT: frozenset(set(TenderStage)),
    TenderAction.PAUSE_COMPLAINT: frozenset(set(TenderStage)),
    TenderAction.RESUME_COMPLAINT: frozenset(set(TenderStage)),
    TenderAction.DECIDE_COMPLAINT: frozenset(set(TenderStage)),
}


def committee_problem(members: list[dict]) -> str | None:
    """Why a committee breaks 法 37, or None when it is lawful."""
    size = len(members)
    experts = sum(1 for m in members if m.get("kind", "expert") == "expert")
    if size < 5:
        return f"评标委员会 {size} 人，少于 5 人"
    if size % 2 == 0:
        return f"评标委员会 {size} 人，不是单数"
    if experts * 3 < size * 2:
        return f"专家 {experts} 人，少于成员总数 {size} 人的三分之二"
    return None
