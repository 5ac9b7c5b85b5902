"""The control API under ``/_emulator/``: reset, seed, faults, chaos, DNS and the request log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import orjson

from .._contract import INVALID_REQUEST_PARAMETERS
from . import _rules as rules
from ._api import ApiResponse, EmulatedApi, SeedError, TxtRecord, error_response, json_response
from ._faults import Chaos, Fault
from ._request_log import RecordedRequest
from ._routes import CONTROL_ROUTES, check_handlers, find

# At most this many verifications can be told to fail at once (a count, not a switch).
MAX_FAILING_VERIFICATIONS = 1_000_000


def respond(api: EmulatedApi, method: str, segments: tuple[str, ...], body: bytes, openapi: bytes) -> ApiResponse:
    """Run one control request; `openapi` is the served document, already encoded."""
    found = find(CONTROL_ROUTES, method, segments)
    if found is None:
        return error_response(rules.not_found())
    operation_id = found[0].operation_id
    if operation_id == "openapi":
        return ApiResponse(200, openapi)
    try:
        payload = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError as error:
        return error_response(rules.malformed_json(str(error)))
    try:
        return _OPERATIONS[operation_id](api, payload)
    except rules.ApiError as error:
        return error_response(error)
    except (SeedError, TypeError, ValueError) as error:
        return json_response(422, {"code": INVALID_REQUEST_PARAMETERS, "message": str(error)})


def _reset(api: EmulatedApi, _: Any) -> ApiResponse:
    api.reset()
    return json_response(200, {"reset": True})


def _seed(api: EmulatedApi, payload: Any) -> ApiResponse:
    return json_response(201, {"organizations": api.seed(payload)})


def _list_faults(api: EmulatedApi, _: Any) -> ApiResponse:
    pending = [{**fault_json(entry.fault), "remaining": entry.remaining} for entry in api.faults.pending()]
    return json_response(200, {"data": pending})


def _add_fault(api: EmulatedApi, payload: Any) -> ApiResponse:
    return json_response(201, fault_json(api.faults.add(Fault(**rules.json_object(payload)))))


def _clear_faults(api: EmulatedApi, _: Any) -> ApiResponse:
    api.faults.clear()
    return ApiResponse(204, b"", None)


def _count_held(api: EmulatedApi, _: Any) -> ApiResponse:
    return json_response(200, {"held": api.held.count})


def _release_held(api: EmulatedApi, _: Any) -> ApiResponse:
    return json_response(200, {"released": api.held.release()})


def _set_chaos(api: EmulatedApi, payload: Any) -> ApiResponse:
    chaos = Chaos(**rules.json_object(payload))
    api.chaos.set(chaos)
    return json_response(201, attrs.asdict(chaos))


def _stop_chaos(api: EmulatedApi, _: Any) -> ApiResponse:
    api.chaos.set(None)
    return ApiResponse(204, b"", None)


def _fail_verifications(api: EmulatedApi, payload: Any) -> ApiResponse:
    times = rules.json_object(payload).get("fail_next", 1)
    check_fail_next(times)
    api.fail_next_verifications(times)
    return json_response(200, {"fail_next": times})


def check_fail_next(times: Any) -> None:
    if isinstance(times, bool) or not isinstance(times, int) or not 0 <= times <= MAX_FAILING_VERIFICATIONS:
        raise ValueError(f"fail_next must be a whole number of verifications, 0 to {MAX_FAILING_VERIFICATIONS}.")


def _list_dns(api: EmulatedApi, _: Any) -> ApiResponse:
    return json_response(200, {"data": [attrs.asdict(record) for record in api.txt_records()]})


def _publish_dns(api: EmulatedApi, payload: Any) -> ApiResponse:
    body = rules.json_object(payload)
    if set(body) == {"domain_id"} and isinstance(body["domain_id"], str):
        record: TxtRecord = api.publish_verification_record(body["domain_id"])
    elif set(body) == {"name", "value"}:
        record = api.publish_txt_record(body["name"], body["value"])
    else:
        raise ValueError('Publish {"domain_id": "org_domain_..."} (its verification record) or {"name", "value"}.')
    return json_response(201, attrs.asdict(record))


def _clear_dns(api: EmulatedApi, _: Any) -> ApiResponse:
    api.remove_txt_records()
    return ApiResponse(204, b"", None)


def _list_requests(api: EmulatedApi, _: Any) -> ApiResponse:
    return json_response(200, {"data": [request_json(entry) for entry in api.requests()]})


# The handler of each operation in `CONTROL_ROUTES`, by operation ID; each takes the JSON body.
# `openapi` is served by `respond` itself: it is the server's document, not the API's state.
_OPERATIONS: Mapping[str, Callable[[EmulatedApi, Any], ApiResponse]] = {
    "reset": _reset,
    "seed": _seed,
    "list_faults": _list_faults,
    "add_fault": _add_fault,
    "clear_faults": _clear_faults,
    "count_held": _count_held,
    "release_held": _release_held,
    "set_chaos": _set_chaos,
    "stop_chaos": _stop_chaos,
    "fail_verifications": _fail_verifications,
    "list_dns": _list_dns,
    "publish_dns": _publish_dns,
    "clear_dns": _clear_dns,
    "list_requests": _list_requests,
}
check_handlers(CONTROL_ROUTES, {**_OPERATIONS, "openapi": respond})


def fault_json(fault: Fault) -> dict[str, Any]:
    return attrs.asdict(fault, recurse=False)


def request_json(entry: RecordedRequest) -> dict[str, Any]:
    return attrs.asdict(entry)
