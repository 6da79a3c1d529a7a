"""The transparency log over plain HTTP, as logs and witnesses serve it (no GraphQL needed, so a
county deployment or an auditor pulls it with curl):

- ``GET /ledger/{center}/checkpoint``: the newest signed head of a center's log (text/plain,
  checkpoint format); ``GET /ledger/{center}/checkpoint/{size}``: the head of that size;
- ``GET /ledger/{center}/inclusion?seq=N[&size=S]``: event N's inclusion proof under the signed
  head of S leaves (default: the newest), JSON;
- ``GET /ledger/{center}/consistency?from=M[&to=N]``: the head of M leaves is a prefix of the head
  of N (default: the newest), JSON;
- ``GET /ledger/cases/{number}``: a case's history with its bodies and inclusion proofs, for a
  viewer who may read the case and its personal data (the read is recorded).

``{center}`` is a center's code or id. Heads and proofs hold hashes only, so they are public;
``esv ledger verify-proof`` checks any of these documents with the verifier key alone.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from esupervision.api.auth import viewer_for_request
from esupervision.models.access.audit import record_reads
from esupervision.models.access.scope import SEES_PERSONAL_DATA, Role
from esupervision.models.catalogue.catalogue import Center
from esupervision.models.cases.query import case_history, get_case
from esupervision.models.clocks import timesource
from esupervision.models.errors import DomainError
from esupervision.models.ledger.proofs import consistency_document, history_document, inclusion_document
from esupervision.models.ledger.tree import latest_head


def _center(session: Session, ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return session.scalar(select(Center.id).where(Center.code == ref))


def _int(request: Request, name: str, required: bool = False) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        if required:
            raise ValueError(f"{name} is required")
        return None
    if not value.isdigit():
        raise ValueError(f"{name} must be a positive whole number")
    return int(value)


def ledger_routes(engine: Engine) -> list[Route]:
    """The routes above, on ``engine``."""

    def with_center(answer: Callable[[Session, uuid.UUID, Request], Response]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            with Session(engine) as session:
                center_id = _center(session, request.path_params["center"])
                if center_id is None:
                    return PlainTextResponse("中心不存在 no such center", 404)
                try:
                    return answer(session, center_id, request)
                except ValueError as exc:
                    return PlainTextResponse(str(exc), 400)
                except DomainError as exc:
                    return JSONResponse({"code": exc.code, "message": exc.message}, 404)
        return endpoint

    def checkpoint(session: Session, center_id: uuid.UUID, request: Request) -> Response:
        size = request.path_params.get("size")
        head = latest_head(session, center_id, int(size) if size is not None else None)
        if head is None:
            return PlainTextResponse("没有该签名树头 no such signed head", 404)
        return PlainTextResponse(head.note)

    def inclusion(session: Session, center_id: uuid.UUID, request: Request) -> Response:
        return JSONResponse(inclusion_document(session, center_id, _int(request, "seq", True),  # type: ignore[arg-type]
                                               _int(request, "size")))

    def consistency(session: Session, center_id: uuid.UUID, request: Request) -> Response:
        return JSONResponse(consistency_document(session, center_id, _int(request, "from", True),  # type: ignore[arg-type]
                                                 _int(request, "to")))

    async def history(request: Request) -> Response:
        viewer, _ = await viewer_for_request(engine, request)
        if viewer.role not in SEES_PERSONAL_DATA and viewer.role is not Role.APPLICANT:
            return PlainTextResponse("需要登录 sign in first", 401)
        number = request.path_params["number"]

        def answer() -> dict[str, Any] | None:
            with Session(engine) as session:
                case = get_case(session, viewer=viewer, number=number)
                if case is None:
                    return None
                document = history_document(session, number, case_history(session, case.id))
                if viewer.role is not Role.APPLICANT:
                    record_reads(session, [{"at": timesource.now(), "actor": viewer.actor,
                                            "role": viewer.role.value, "subject_type": "case",
                                            "subject_id": case.id, "field": "ledger_history",
                                            "request_id": request.headers.get("x-request-id")}])
                    session.commit()
                return document

        document = await to_thread.run_sync(answer)
        if document is None:
            return PlainTextResponse("办件不存在 case not found", 404)
        return JSONResponse(document)

    return [
        Route("/ledger/cases/{number}", history),
        Route("/ledger/{center}/checkpoint", with_center(checkpoint)),
        Route("/ledger/{center}/checkpoint/{size:int}", with_center(checkpoint)),
        Route("/ledger/{center}/inclusion", with_center(inclusion)),
        Route("/ledger/{center}/consistency", with_center(consistency)),
    ]
