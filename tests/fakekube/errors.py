"""``kind: Status`` errors with the reason strings and codes a real API server uses."""

from __future__ import annotations

from typing import Any

from .resources import ResourceType


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        s: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            s["details"] = self.details
        return s


def _details(rt: ResourceType | None, name: str, **extra) -> dict:
    d: dict[str, Any] = {"name": name} if name else {}
    if rt is not None:
        if rt.group:
            d["group"] = rt.group
        d["kind"] = rt.plural
    d.update(extra)
    return d


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rt.group_resource} "{name}" not found', _details(rt, name))


def namespace_not_found(name: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})


def already_exists(rt: ResourceType, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{rt.group_resource} "{name}" already exists', _details(rt, name))


def conflict(rt: ResourceType, name: str,
             why: str = "the object has been modified; please apply your changes to the latest version and try again"
             ) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rt.group_resource} "{name}": {why}',
                    _details(rt, name))


def invalid(rt: ResourceType, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """causes: (field, reason such as FieldValueRequired/FieldValueInvalid/FieldValueForbidden, message)."""
    qualified = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    text = "; ".join(f"{f}: {m}" if f else m for f, _, m in causes)
    if len(causes) > 1:
        text = "[" + ", ".join(f"{f}: {m}" if f else m for f, _, m in causes) + "]"
    details = {"name": name, "kind": rt.kind, "causes": [{"reason": r, "message": m, "field": f}
                                                         for f, r, m in causes]}
    if rt.group:
        details["group"] = rt.group
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {text}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(message: str, rt: ResourceType | None = None, name: str = "") -> ApiError:
    return ApiError(403, "Forbidden", message, _details(rt, name) if rt else None)


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    f'the body of the request was in an unknown format - accepted media types include: '
                    f'application/json-patch+json, application/merge-patch+json (got "{content_type}"; this fake '
                    f'does not implement strategic merge patch or server-side apply)')


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Gone", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def generic(code: int, message: str | None = None, retry_after: float | None = None) -> ApiError:
    reasons = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
               409: "Conflict", 410: "Gone", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
               500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
    reason = reasons.get(code, "Unknown")
    default_messages = {429: "Too many requests, please try again later.",
                        500: "Internal error occurred: injected by fakekube",
                        503: "the server is currently unable to handle the request",
                        504: "the server was unable to return a response in the time allotted"}
    msg = message or default_messages.get(code, f"injected failure ({code})")
    headers = {}
    details = None
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after) if float(retry_after).is_integer() else retry_after)
        details = {"retryAfterSeconds": int(retry_after)}
    if code == 500 and details is None:
        details = {"causes": [{"message": msg}]}
    return ApiError(code, reason, msg, details, headers)
