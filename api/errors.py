"""Errors as users see them: every error carries a stable ``extensions.code`` and the request id;
anything that is not a domain error is masked (no internals in any answer)."""
from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from esupervision.models.errors import DomainError, detail_value

log = logging.getLogger(__name__)

# Codes graphql-core's own validation and parsing errors get.
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
INTERNAL_ERROR = "INTERNAL_ERROR"


def _shape(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    extensions = dict(error.extensions or {})
    extensions["requestId"] = request_id
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
