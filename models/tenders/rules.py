"""The statutory limits of tendering as data: each rule names its article, so a refusal, a stage's
legal basis and a red flag's evidence all cite the same words.

法 = 中华人民共和国招标投标法; 条例 = 中华人民共和国招标投标法实施条例. Limits are in calendar
(natural) days unless ``basis`` says working days.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from esupervision.models.clocks.clock import Basis


@dataclass(frozen=True)
class Rule:
    """One statutory limit: what it says, where, and its number of days (or percent)."""

    code: str
    article: str          # e.g. "条例 16"
    text: str             # the rule in one sentence, as shown to users
    days: int | None = None
    basis: Basis = Basis.NATURAL
    percent: float | None = None

    @property
    def legal_basis(self) -> str:
        return f"{self.article}：{self.text}"


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rules}


RULES: dict[str, Rule] = _rules(
    Rule("SALE_MIN_DAYS", "条例 16", "资格预审文件或者招标文件的发售期不得少于 5 日", days=5),
    Rule("PREQUAL_MIN_DAYS", "条例 17", "提交资格预审申请文件的时间，自资格预审文件停止发售之日起不得少于 5 日", days=5),
    Rule("BID_MIN_DAYS", "法 24", "依法必须进行招标的项目，自招标文件开始发出之日起至投标人提交投标文件截止之日止，最短不得少于 20 日", days=20),
    Rule("AMEND_MIN_DAYS", "法 23、条例 21", "澄清或者修改可能影响投标文件编制的，应当在投标截止时间至少 15 日前通知；不足 15 日的，应当顺延提交投标文件的截止时间", days=15),
    Rule("AMEND_PREQUAL_MIN_DAYS", "条例 21", "澄清或者修改可能影响资格预审申请文件编制的，应当在提交资格预审申请文件截止时间至少 3 日前通知；不足 3 日的，应当顺延截止时间", days=3),
    Rule("OBJECTION_DOCS_DAYS", "条例 22", "对招标文件有异议的，应当在投标截止时间 10 日前提出", days=10),
    Rule("OBJECTION_PREQUAL_DAYS", "条例 22", "对资格预审文件有异议的，应当在提交资格预审申请文件截止时间 2 日前提出", days=2),
    Rule("OBJECTION_ANSWER_DAYS", "条例 22、44、54", "招标人应当自收到异议之日起 3 日内作出答复；作出答复前，应当暂停招标投标活动", days=3),
    Rule("LATE_BID", "法 28", "在招标文件要求提交投标文件的截止时间后送达的投标文件，招标人应当拒收"),
    Rule("OPEN_AT_DEADLINE", "法 34", "开标应当在招标文件确定的提交投标文件截止时间的同一时间公开进行"),
    Rule("MIN_BIDDERS", "法 28、条例 44", "投标人少于 3 个的，不得开标；招标人应当重新招标"),
    Rule("COMMITTEE", "法 37", "评标委员会成员人数为 5 人以上单数，其中技术、经济等方面的专家不得少于成员总数的三分之二"),
    Rule("EVALUATION_DAYS", "法 40、条例 48", "评标委员会应当按照招标文件确定的评标标准和方法在合理时间内完成评审，提出书面评标报告", days=10),
    Rule("PUBLISH_CANDIDATES_DAYS", "条例 54", "依法必须进行招标的项目，招标人应当自收到评标报告之日起 3 日内公示中标候选人", days=3),
    Rule("PUBLICITY_MIN_DAYS", "条例 54", "中标候选人公示期不得少于 3 日", days=3),
    Rule("FIRST_CANDIDATE", "条例 55", "国有资金占控股或者主导地位的依法必须进行招标的项目，招标人应当确定排名第一的中标候选人为中标人"),
    Rule("CONTRACT_DAYS", "法 46", "招标人和中标人应当自中标通知书发出之日起 30 日内，按照招标文件和中标人的投标文件订立书面合同", days=30),
    Rule("REPORT_DAYS", "法 47", "依法必须进行招标的项目，招标人应当自确定中标人之日起 15 日内，向有关行政监督部门提交招标投标情况的书面报告", days=15),
    Rule("BID_BOND_PERCENT", "条例 26", "投标保证金不得超过招标项目估算价的 2%", percent=2.0),
    Rule("BOND_RETURN_DAYS", "条例 57", "招标人最迟应当在书面合同签订后 5 日内向中标人和未中标的投标人退还投标保证金及银行同期存款利息", days=5),
    Rule("PERFORMANCE_BOND_PERCENT", "条例 58", "履约保证金不得超过中标合同金额的 10%", percent=10.0),
    Rule("COMPLAINT_FILE_DAYS", "条例 60", "投诉人应当自知道或者应当知道之日起 10 日内向有关行政监督部门投诉", days=10),
    Rule("COMPLAINT_ACCEPT_DAYS", "条例 61", "行政监督部门应当自收到投诉之日起 3 个工作日内决定是否受理投诉", days=3, basis=Basis.WORKING),
    Rule("COMPLAINT_DECIDE_DAYS", "条例 61", "行政监督部门应当自受理投诉之日起 30 个工作日内作出书面处理决定；需要检验、检测、鉴定、专家评审的，所需时间不计算在内", days=30, basis=Basis.WORKING),
    Rule("COLLUSION", "条例 40", "视为投标人相互串通投标的情形：不同投标人的投标文件由同一单位或者个人编制；委托同一单位或者个人办理投标事宜；投标文件异常一致或者投标报价呈规律性差异；投标保证金从同一单位或者个人的账户转出"),
    Rule("STAGE_ORDER", "法 第三、四章", "招标投标活动应当按照招标、投标、开标、评标和中标的法定程序依次进行"),
)


def rule(code: str) -> Rule:
    return RULES[code]


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
    """The clocked periods of a tender; each is one clock of the core with its legal basis."""

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


# name shown to users, the rule giving the limit, and whether the period is a statutory minimum
# (the clock runs to a fixed instant the tenderer set) or a maximum (the law's days).
CLOCKS: dict[ClockKind, tuple[str, str]] = {
    ClockKind.SALE: ("招标文件发售", "SALE_MIN_DAYS"),
    ClockKind.PREQUALIFICATION: ("资格预审申请", "PREQUAL_MIN_DAYS"),
    ClockKind.BIDDING: ("投标（至投标截止、开标）", "BID_MIN_DAYS"),
    ClockKind.EVALUATION: ("评标", "EVALUATION_DAYS"),
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
