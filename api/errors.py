"""Errors as users see them: every error carries a stable ``extensions.code`` and the request id;
anything that is not a domain error is masked (no internals in any answer).

Variables that cannot be coerced (an unknown enum value, a date that is no date) are the
caller's mistake: BAD_INPUT with a Chinese message, not an internal error. In the log, what the
caller got wrong is one line without a traceback; only unexpected errors carry one.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from esupervision.models.errors import DomainError, ErrorCode, detail_value

log = logging.getLogger(__name__)

# Codes graphql-core's own validation and parsing errors get.
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
INTERNAL_ERROR = "INTERNAL_ERROR"


_VARIABLE = re.compile(r"^Variable '\$(?P<name>\w+)' has invalid value(?P<path>[^:]*): (?P<detail>.*)$", re.DOTALL)
_ENUM = re.compile(r"does not exist in '(?P<enum>\w+)' enum")
_SCALAR_WORDS = {"Date": "日期（如 2026-11-26）", "DateTime": "时间（ISO 8601，带时区，如 2026-11-26T09:00:00+08:00）",
                 "Int": "整数", "Float": "数字", "Boolean": "布尔值", "ID": "编号", "String": "文本"}


def _variable_input(error: GraphQLError) -> tuple[DomainError | None, str] | None:
    """For an error coercing a variable: the domain error a scalar raised (else None) and the
    Chinese message of a BAD_INPUT; None for any other error."""
    match = _VARIABLE.match(error.message)
    if match is None or not isinstance(error.original_error, (GraphQLError, ValueError, TypeError)):
        return None
    cause: BaseException | None = error.original_error
    for _ in range(8):   # the chain a scalar's parse error comes wrapped in
        if cause is None or isinstance(cause, DomainError):
            break
        cause = getattr(cause, "original_error", None) or cause.__cause__
    if isinstance(cause, DomainError):
        return cause, cause.message
    name, detail = match["name"], match["detail"].strip()
    enum = _ENUM.search(detail)
    scalar = re.search(r"represent (?:a|an) (\w+)", detail) or re.search(r"^(\w+) cannot represent", detail)
    if enum:
        what = f"不是 {enum['enum']} 的可选值"
    elif scalar and scalar[1] in _SCALAR_WORDS:
        what = f"不是有效的{_SCALAR_WORDS[scalar[1]]}"
    else:
        what = "无效"
    where = name + match["path"].strip().removeprefix("at ").strip()   # $input.events[3].action
    return None, f"变量 ${where} 的值{what} invalid value for ${where}: {detail}"


def _shape(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    extensions = dict(error.extensions or {})
    extensions["requestId"] = request_id
    variable = _variable_input(error)
    if variable is not None:
        raised, message = variable
        if raised is not None:
            original = raised
        else:
            extensions["code"] = str(ErrorCode.BAD_INPUT)
            return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                                path=error.path, extensions=extensions)
    if isinstance(original, DomainError):
        extensions["code"] = str(original.code)
        for key, value in original.details.items():
            extensions.setdefault(key, detail_value(value))
        return GraphQLError(original.message, nodes=error.nodes, source=error.source,
                            positions=error.positions, path=error.path, extensions=extensions)
    if original is None:
        # Parse and validation errors: the message is about the query, safe to show.
        extensions.setdefault("code", GRAPHQL_PARSE_FAILED if error.message.startswith("Syntax Error")
                              else GRAPHQL_VALIDATION_FAILED)
        return GraphQLError(error.message, nodes=error.nodes, source=error.source,
                            positions=error.positions, path=error.path, extensions=extensions)
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        extensions.update(original.extensions or {})
        extensions["requestId"] = request_id
        return GraphQLError(original.message, nodes=error.nodes, source=error.source,
                            positions=error.positions, path=error.path, extensions=extensions)
    if not getattr(original, _LOGGED, False):
        log.error("unexpected error in request %s", request_id, exc_info=original)
    extensions["code"] = INTERNAL_ERROR
    return GraphQLError(f"服务器内部错误，请求编号 {request_id} internal error", nodes=error.nodes,
                        source=error.source, positions=error.positions, path=error.path,
                        extensions=extensions)


class ErrorCodes(SchemaExtension):
    """Gives every error a code and the request id; masks unexpected ones."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not getattr(result, "errors", None):
            return
        request_id = getattr(self.execution_context.context, "request_id", "-")
        result.errors = [_shape(e, request_id) for e in result.errors]


_LOGGED = "_esv_logged"


def _expected(error: GraphQLError) -> str | None:
    """The code of an error the caller caused (a domain error, bad input, a refused query);
    None for an unexpected one."""
    original = error.original_error
    if isinstance(original, DomainError):
        return str(original.code)
    variable = _variable_input(error)
    if variable is not None:
        return str(variable[0].code) if variable[0] is not None else str(ErrorCode.BAD_INPUT)
    if original is None:
        return str((error.extensions or {}).get("code") or GRAPHQL_VALIDATION_FAILED)
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        return str(original.extensions["code"])
    return None


class Schema(strawberry.federation.Schema):
    """The federation schema, logging each error once: what the caller got wrong as one line
    (code, path, message), without a traceback; only unexpected errors with theirs."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        context: Any = getattr(execution_context, "context", None)
        request_id = getattr(context, "request_id", "-")
        for error in errors:
            code = _expected(error)
            if code is not None:
                log.info("request %s: %s at %s: %s", request_id, code, _path(error), error.message)
                continue
            log.error("unexpected error in request %s at %s: %s", request_id, _path(error), error.message,
                      exc_info=error.original_error)
            try:
                setattr(error.original_error, _LOGGED, True)   # ErrorCodes masks it without logging again
            except AttributeError:
                pass


def _path(error: GraphQLError) -> str:
    return ".".join(str(p) for p in error.path) if error.path else "-"
