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


@dataclass(frozen=True)
class Template:
    code: str
    text: str
    urgent: bool = False      # voice calls go out even in quiet hours
    audience: str = "applicant"
    secret: tuple[str, ...] = ()   # parameters wiped from the outbox once the notice is done

    @property
    def params(self) -> frozenset[str]:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.text) if name)


_TEMPLATES = [
    Template("case_received", "【{center}】您的申请{item}已收到，办件编号{number}，请留意后续通知。"),
    Template("case_accepted", "【{center}】您的办件{number}（{item}）已受理，承诺{days}个工作日内办结。"),
    Template("case_supplement", "【{center}】您的办件{number}需补正材料，请按告知书补齐后提交，补正期间暂停计时。"),
    Template("case_suspended", "【{center}】您的办件{number}进入{procedure}程序，该期间不计入办理时限。"),
    Template("case_resumed", "【{center}】您的办件{number}已恢复办理，计时继续。"),
    Template("case_extended", "【{center}】您的办件{number}经批准延期{days}个工作日。"),
    Template("case_completed", "【{center}】您的办件{number}（{item}）已办结，结果：{result}。"),
    Template("case_rejected", "【{center}】您的办件{number}未予受理或已退件，原因：{reason}。"),
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
             secret=("code",)),
    Template("complaint_reply", "【{center}】您的投诉{complaint}已处理：{reply}"),
    Template("evaluation_request", "【{center}】您的办件{number}已办结，请对本次服务评价：{link}"),
    Template("complaint_received", "【{center}】您的{kind}已登记，编号{complaint}，我们将于{deadline}前答复。"),
    Template("consultation_reply", "【{center}】您的咨询{complaint}答复如下：{reply}"),
    Template("complaint_assigned", "【电子监察】{kind}{complaint}已转交贵部门办理，请于{deadline}前答复。",
             audience="staff"),
    Template("complaint_empty", "请在“投诉”或“咨询”后写明内容，例如：投诉 窗口办理拖延。"),
    Template("evaluation_received", "已收到您对办件{number}的评价：{label}。感谢您的监督。"),
    Template("evaluation_not_pending", "未找到待评价的办件：办件可能已评价、评价期已过，或手机号与申请时登记的不同。"),
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
             urgent=True, audience="staff"),
    Template("case_status", "办件{number}：{status}，{light}，办理期限{deadline}。"),
    Template("case_not_found", "未查到该办件，请核对办件编号，或使用申请时登记的手机查询。"),
]
TEMPLATES: Mapping[str, Template] = {t.code: t for t in _TEMPLATES}

# What people read where a notice is listed (a case's timeline, a staff member's notices).
LABELS: Mapping[str, str] = {
    "case_received": "申报收件通知", "case_accepted": "受理通知", "case_supplement": "补正通知",
    "case_suspended": "特别程序通知", "case_resumed": "恢复办理通知", "case_extended": "延期通知",
    "case_completed": "办结通知", "case_rejected": "不予受理（退件）通知",
    "approaching_deadline": "黄灯预警", "overdue": "红灯超期提醒",
    "urge": "催办通知", "supervision_order": "督办通知", "order_overdue": "督办逾期提醒",
    "urge_unit": "催办通知（单位）", "supervision_order_unit": "督办通知（单位）",
    "login_code": "登录验证码",
    "complaint_reply": "投诉答复", "evaluation_request": "评价邀请", "complaint_received": "投诉咨询登记回执",
    "consultation_reply": "咨询答复", "complaint_assigned": "投诉咨询转办通知",
    "complaint_empty": "投诉咨询格式提示", "evaluation_received": "评价回执",
    "evaluation_not_pending": "无待评价办件提示", "follow_up_assigned": "差评核实回访通知",
    "report_published": "效能报告发布通知", "accountability_decided": "责任追究决定通知",
    "appeal_decided": "申诉处理结果通知", "tender_red_flags": "招投标红旗预警",
    "tender_red_flags_summary": "招投标红旗预警汇总", "case_status": "办件查询答复",
    "ledger_breach": "账本篡改告警",
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
