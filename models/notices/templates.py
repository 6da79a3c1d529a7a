"""Every notice the product sends, as a Chinese template with named parameters (what a notice says
is the domain's: the law prescribes some of it; ``notify/templates.py`` renders it for sending).

A template's parameters are the ``{names}`` in its text: rendering checks that exactly those are
given (a missing or an extra one is a ``TemplateError``), so nothing half-filled is ever sent.
Aliyun needs each template registered under a ``TemplateCode``; settings map our codes to theirs.
"""
from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


class TemplateError(ValueError):
    """A template that does not exist, or parameters that do not fit it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# When a category may be sent (the setting ``notice_hours`` gives each its hours):
# login codes and answers to what a person just sent go at any hour, like alarms; notices to
# applicants in the daytime; notices to staff in working hours on the center's working days.
CATEGORIES = ("login", "reply", "alarm", "applicant", "staff")
CATEGORY_LABELS = {"login": "登录验证码", "reply": "回复", "alarm": "告警", "applicant": "申请人通知",
                   "staff": "工作人员通知"}


@dataclass(frozen=True)
class Template:
    code: str
    text: str
    urgent: bool = False      # marked urgent where notices are listed (no longer a pass through quiet hours)
    audience: str = "applicant"
    secret: tuple[str, ...] = ()   # parameters wiped from the outbox once the notice is done
    category: str = ""             # one of CATEGORIES; the audience's when not given

    def __post_init__(self) -> None:
        if not self.category:
            object.__setattr__(self, "category", self.audience)
        assert self.category in CATEGORIES, self.category

    @property
    def params(self) -> frozenset[str]:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.text) if name)


# 行政许可法 第三十八条 第二款: a refusal states its reason and the applicant's remedies; the time
# limits are 行政复议法 第二十条 (60 days) and 行政诉讼法 第四十六条 (6 months).
REMEDIES = "如不服，可自知道该决定之日起60日内依法申请行政复议，或者6个月内依法向人民法院提起行政诉讼。"

_TEMPLATES = [
    Template("case_received", "【{center}】您的申请{item}已收到，办件编号{number}，请留意后续通知。"),
    Template("case_accepted", "【{center}】您的办件{number}（{item}）已受理，承诺{days}个工作日内办结。"),
    # an item whose committed limit is 0 working days is handled at once (即办件)
    # an item counted in natural days (自然日) says so: "工作日" would promise a later date
    Template("case_accepted_natural", "【{center}】您的办件{number}（{item}）已受理，承诺{days}个自然日内办结。"),
    Template("case_accepted_at_once", "【{center}】您的办件{number}（{item}）已受理，即办件，当日办结。"),
    # 行政许可法 第三十二条 第一款 第四项: every missing material told at once (一次性告知), with the reason
    Template("case_supplement", "【{center}】您的办件{number}需补正材料（一次性告知）：{materials}。原因：{reason}。"
                                "请补齐后提交，补正期间暂停计时。"),
    Template("case_suspended", "【{center}】您的办件{number}进入{procedure}程序，该期间不计入办理时限。"),
    Template("case_resumed", "【{center}】您的办件{number}已恢复办理，计时继续。"),
    Template("case_extended", "【{center}】您的办件{number}经批准延期{days}个工作日。"),
    Template("case_extended_natural", "【{center}】您的办件{number}经批准延期{days}个自然日。"),
    Template("case_completed", "【{center}】您的办件{number}（{item}）已办结，结果：{result}。"),
    Template("case_denied", "【{center}】您的办件{number}（{item}）已办结，结果：不予许可，理由：{reason}。" + REMEDIES),
    Template("case_rejected", "【{center}】您的办件{number}（{item}）不予受理（退件），理由：{reason}。" + REMEDIES),
    Template("approaching_deadline", "【电子监察】办件{number}即将到期（黄灯），期限{deadline}，请抓紧办理。",
             audience="staff"),
    Template("overdue", "【电子监察】办件{number}已超期（红灯），期限{deadline}，请立即办理并说明原因。",
             audience="staff"),
    Template("urge", "【电子监察】办件{number}被催办：{message}，请于{reply_by}前反馈。", audience="staff"),
    Template("supervision_order", "【电子监察】督办通知：办件{number}，{message}，请于{reply_by}前办理并反馈。",
             urgent=True, audience="staff"),
    Template("order_overdue", "【电子监察】督办单{order}已逾期未反馈，请立即处理。", urgent=True, audience="staff"),
    Template("urge_unit", "【电子监察】{target}被催办：{message}，请于{reply_by}前反馈。", audience="staff"),
    Template("supervision_order_unit", "【电子监察】督办通知：{target}，{message}，请于{reply_by}前办理并反馈。",
             urgent=True, audience="staff"),
    Template("login_code", "您的登录验证码为{code}，{minutes}分钟内有效，请勿告诉他人。", urgent=True,
             secret=("code",), category="login"),
    Template("complaint_reply", "【{center}】您的投诉{complaint}已处理：{reply}"),
    Template("evaluation_request", "【{center}】您的办件{number}已办结，请对本次服务评价：{link}"),
    Template("complaint_received", "【{center}】您的{kind}已登记，编号{complaint}，我们将于{deadline}前答复。",
             category="reply"),
    Template("consultation_reply", "【{center}】您的咨询{complaint}答复如下：{reply}"),
    Template("complaint_assigned", "【电子监察】{kind}{complaint}已转交贵部门办理，请于{deadline}前答复。",
             audience="staff"),
    Template("complaint_empty", "请在“投诉”或“咨询”后写明内容，例如：投诉 窗口办理拖延。", category="reply"),
    Template("evaluation_received", "已收到您对办件{number}的评价：{label}。感谢您的监督。", category="reply"),
    Template("evaluation_not_pending", "未找到待评价的办件：办件可能已评价、评价期已过，或手机号与申请时登记的不同。",
             category="reply"),
    Template("sms_refused", "您的短信未能办理：{reason}", category="reply"),
    Template("follow_up_assigned", "【电子监察】办件{number}收到差评（{label}），请于{deadline}前完成核实、整改和回访。",
             audience="staff"),
    Template("report_published", "【电子监察】{period}效能报告已发布（{subject}），请查阅：{link}",
             audience="staff"),
    Template("accountability_decided", "【电子监察】效能责任追究：{subject}（{period}）处理决定为{sanction}。如有异议，可在系统中提出申诉。",
             audience="staff"),
    Template("appeal_decided", "【电子监察】贵部门关于{subject}的申诉已处理：{outcome}。理由：{reason}", audience="staff"),
    Template("tender_red_flags", "【电子监察】招标项目{tender}新增红旗预警{count}项：{flags}，请登录系统核查。",
             audience="staff"),
    Template("tender_red_flags_summary", "【电子监察】本轮核查新增红旗预警{count}项，涉及{tenders}个招标项目，请登录系统核查。",
             audience="staff"),
    Template("ledger_breach", "【电子监察】账本校验发现{count}处篡改或不符，首处：{first}。请立即核查，记录已存见证方。",
             urgent=True, audience="staff", category="alarm"),
    # What an applicant hears or reads when asking for their case (phone, SMS): one sentence per status.
    Template("status_submitted", "办件{number}（{item}）的网上申报已于{submitted}收到，正在审查，将于{deadline}前决定是否受理。",
             category="reply"),
    Template("status_prereviewed", "办件{number}（{item}）已通过预审，等待受理，将于{deadline}前决定是否受理。",
             category="reply"),
    Template("status_prereview_failed", "办件{number}（{item}）预审未通过，原因：{reason}。", category="reply"),
    Template("status_accepted", "办件{number}（{item}）正在办理，{light}，承诺于{deadline}前办结。", category="reply"),
    Template("status_accepted_at_once", "办件{number}（{item}）已受理，即办件，当日办结。", category="reply"),
    Template("status_supplement", "办件{number}（{item}）等待您补正材料：{materials}。补正期间暂停计时，补齐后继续办理。",
             category="reply"),
    Template("status_suspended", "办件{number}（{item}）正在进行{procedure}程序，该期间不计入办理时限，结束后继续办理。",
             category="reply"),
    Template("status_approved", "办件{number}（{item}）已办结（{finished}），结果：准予许可。", category="reply"),
    Template("status_denied", "办件{number}（{item}）已办结（{finished}），结果：不予许可，理由：{reason}。" + REMEDIES,
             category="reply"),
    Template("status_completed", "办件{number}（{item}）已办结（{finished}）。", category="reply"),
    Template("status_rejected", "办件{number}（{item}）已于{finished}决定不予受理（退件），理由：{reason}。" + REMEDIES,
             category="reply"),
    Template("status_withdrawn", "办件{number}（{item}）已撤回申请（{finished}），不再办理。", category="reply"),
    Template("case_not_found", "未查到该办件，请核对办件编号，或使用申请时登记的手机查询。", category="reply"),
]
TEMPLATES: Mapping[str, Template] = {t.code: t for t in _TEMPLATES}

# What people read where a notice is listed (a case's timeline, a staff member's notices).
LABELS: Mapping[str, str] = {
    "case_received": "申报收件通知", "case_accepted": "受理通知", "case_accepted_at_once": "受理通知（即办件）",
    "case_accepted_natural": "受理通知", "case_extended_natural": "延期通知",
    "case_supplement": "补正通知（一次性告知）",
    "case_suspended": "特别程序通知", "case_resumed": "恢复办理通知", "case_extended": "延期通知",
    "case_completed": "办结通知", "case_denied": "不予许可决定通知", "case_rejected": "不予受理（退件）通知",
    "approaching_deadline": "黄灯预警", "overdue": "红灯超期提醒",
    "urge": "催办通知", "supervision_order": "督办通知", "order_overdue": "督办逾期提醒",
    "urge_unit": "催办通知（单位）", "supervision_order_unit": "督办通知（单位）",
    "login_code": "登录验证码",
    "complaint_reply": "投诉答复", "evaluation_request": "评价邀请", "complaint_received": "投诉咨询登记回执",
    "consultation_reply": "咨询答复", "complaint_assigned": "投诉咨询转办通知",
    "complaint_empty": "投诉咨询格式提示", "evaluation_received": "评价回执",
    "evaluation_not_pending": "无待评价办件提示", "sms_refused": "短信未能办理回复",
    "follow_up_assigned": "差评核实回访通知",
    "report_published": "效能报告发布通知", "accountability_decided": "责任追究决定通知",
    "appeal_decided": "申诉处理结果通知", "tender_red_flags": "招投标红旗预警",
    "tender_red_flags_summary": "招投标红旗预警汇总",
    "ledger_breach": "账本篡改告警",
    "status_submitted": "办件查询答复（待受理）", "status_prereviewed": "办件查询答复（预审通过）",
    "status_prereview_failed": "办件查询答复（预审未通过）", "status_accepted": "办件查询答复（办理中）",
    "status_accepted_at_once": "办件查询答复（即办件）", "status_supplement": "办件查询答复（待补正）",
    "status_suspended": "办件查询答复（特别程序）", "status_approved": "办件查询答复（准予许可）",
    "status_denied": "办件查询答复（不予许可）", "status_completed": "办件查询答复（已办结）",
    "status_rejected": "办件查询答复（不予受理）", "status_withdrawn": "办件查询答复（已撤回）",
    "case_not_found": "办件查询（未查到）",
}


def label(code: str) -> str:
    """The Chinese name of the template ``code`` (the code itself for one without a name)."""
    return LABELS.get(code, code)


def get(code: str) -> Template:
    """The template named ``code``; ``TemplateError(TEMPLATE_UNKNOWN)`` if there is none."""
    try:
        return TEMPLATES[code]
    except KeyError:
        raise TemplateError("TEMPLATE_UNKNOWN", f"没有这个通知模板 {code!r}") from None


def check(code: str, params: Mapping[str, Any]) -> Template:
    """The template, once ``params`` names exactly its parameters, each with a value."""
    template = get(code)
    given = set(params)
    missing = sorted(template.params - given)
    extra = sorted(given - template.params)
    if missing or extra:
        raise TemplateError("TEMPLATE_PARAMS", f"模板 {code} 参数不符：缺少 {missing}，多余 {extra}")
    empty = sorted(k for k, v in params.items() if v is None or str(v).strip() == "")
    if empty:
        raise TemplateError("TEMPLATE_PARAMS", f"模板 {code} 参数为空：{empty}")
    return template


# Sentence punctuation, Chinese and ASCII: a value written as a sentence ("请抓紧办理。") must
# not end in it where the template goes on with its own ("{message}，请于…" gave "。，").
_PUNCTUATION = "，。；：！？、,.;:!?"


def fit(code: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` of the template ``code`` with the sentence punctuation at the end of each text
    value dropped where the template puts punctuation right after it. What is queued (and sent
    to Aliyun as template parameters, to be set in its copy of the template) is this."""
    followed = _followed_by_punctuation(code)
    return {k: v.rstrip(_PUNCTUATION + " ") or v if k in followed and isinstance(v, str) else v
            for k, v in params.items()}


@lru_cache
def _followed_by_punctuation(code: str) -> frozenset[str]:
    """The fields of ``code``'s text that punctuation follows (parsed once: every notice asks)."""
    parts = list(string.Formatter().parse(get(code).text))
    return frozenset(name for (_, name, _, _), after in zip(parts, [*parts[1:], ("", None, None, None)])
                     if name and after[0] and after[0][0] in _PUNCTUATION)
