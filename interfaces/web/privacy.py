"""The DPO's tools: erasure, the access log, a subject's access report, the retention schedule."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint

from application.accounts import Caller
from application.receipts import Recorded
from interfaces.web import schemas
from interfaces.web.api import Command, forebyg, route
from interfaces.web.reads import read

bp = Blueprint("privacy", __name__, url_prefix="/api")


@route(
    bp,
    "/subjects/<uuid:subject_id>/erasure",
    "POST",
    operation_id="erase_subject",
    summary="Erase a data subject's personal data (crypto-shredding); DPO only",
    request_schema=schemas.ErasureRequest,
    response=schemas.RecordedResponse,
)
def erase_subject(ctx: Command, body: dict[str, Any], subject_id: UUID) -> Recorded:
    return forebyg().erase_subject(subject_id, reason=body["reason"], caller=ctx.caller)


@route(
    bp,
    "/subjects/<uuid:subject_id>/access-report",
    "GET",
    operation_id="get_access_report",
    summary="Who looked at a subject's data, when and why; DPO only",
    response=schemas.AccessReportResponse,
)
def access_report(caller: Caller, subject_id: UUID) -> Any:
    return read(forebyg().get_access_report(subject_id, caller=caller), schemas.AccessReportResponse)


@route(
    bp,
    "/cases/<uuid:case_id>/access-log",
    "GET",
    operation_id="get_access_log",
    summary="Every read of the case's personal data: who, which organisation, when, why; DPO only",
    response=schemas.AccessLogResponse,
)
def access_log(caller: Caller, case_id: UUID) -> Any:
    return read({"items": forebyg().get_access_log(case_id, caller=caller)}, schemas.AccessLogResponse)


@route(
    bp,
    "/retention",
    "GET",
    operation_id="get_retention_schedule",
    summary="Subjects whose cases are all closed, and when they will be erased",
    response=schemas.RetentionResponse,
)
def retention(caller: Caller) -> Any:
    return read({"items": forebyg().retention_schedule(caller=caller)}, schemas.RetentionResponse)
