"""The text of a notice as it is sent: the domain's template (``models/notices/templates.py``, which
also names and checks them) filled with the notice's parameters."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esupervision.models.notices.templates import (CATEGORY_LABELS, LABELS, TEMPLATES, Template,  # noqa: F401
                                                   TemplateError, check, fit, get, label)


def render(code: str, params: Mapping[str, Any]) -> str:
    """The text of ``code`` filled with ``params`` (checked, then fitted)."""
    return check(code, params).text.format(**{k: str(v) for k, v in fit(code, params).items()})
