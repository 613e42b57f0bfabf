"""Errors the engine raises and how they look on the wire.

OAuth endpoints answer with RFC 6749 `{error, error_description}`, the hint appended
to the description with one space as Hydra does. The admin API uses Hydra's herodot
shape, which is the same two fields with a human message in `error`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OAuthError(Exception):
    """An RFC 6749 error: `error` code, canonical description, HTTP status and a hint."""

    error: ClassVar[str] = "server_error"
    description: ClassVar[str] = (
        "The authorization server encountered an unexpected condition that prevented it from fulfilling the request."
    )
    status_code: ClassVar[int] = 500

    def __init__(self, hint: str = "", *, debug: str = "", headers: dict[str, str] | None = None,
                 description: str | None = None, error: str | None = None, status_code: int | None = None):
        super().__init__(hint or self.description)
        self.hint = hint
        self.debug = debug
        self.headers = headers or {}
        if description is not None:
            self.description = description  # type: ignore[misc]
        if error is not None:
            self.error = error  # type: ignore[misc]
        if status_code is not None:
            self.status_code = status_code  # type: ignore[misc]

    def full_description(self, expose_debug: bool = False) -> str:
        text = self.description
        if self.hint:
            text = f"{text} {self.hint}"
        if expose_debug and self.debug:
            text = f"{text} {self.debug}"
        return text.replace('"', "'")

    def to_dict(self, expose_debug: bool = False) -> dict[str, str]:
        return {"error": self.error, "error_description": self.full_description(expose_debug)}


def _error(name: str, code: str, status: int, description: str) -> type[OAuthError]:
    return type(name, (OAuthError,), {"error": code, "status_code": status, "description": description})


InvalidRequest = _error(
    "InvalidRequest", "invalid_request", 400,
    "The request is missing a required parameter, includes an invalid parameter value, includes a parameter "
    "more than once, or is otherwise malformed.")
InvalidClient = _error(
    "InvalidClient", "invalid_client", 401,
    "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported "
    "authentication method).")
InvalidGrant = _error(
    "InvalidGrant", "invalid_grant", 400,
    "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token "
    "is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was "
    "issued to another client.")
UnauthorizedClient = _error(
    "UnauthorizedClient", "unauthorized_client", 400,
    "The client is not authorized to request a token using this method.")
UnsupportedGrantType = _error(
    "UnsupportedGrantType", "unsupported_grant_type", 400,
    "The authorization grant type is not supported by the authorization server.")
UnsupportedResponseType = _error(
    "UnsupportedResponseType", "unsupported_response_type", 400,
    "The authorization server does not support obtaining a token using this method.")
UnsupportedResponseMode = _error(
    "UnsupportedResponseMode", "unsupported_response_mode", 400,
    "The authorization server does not support obtaining a response using this response mode.")
InvalidScope = _error(
    "InvalidScope", "invalid_scope", 400, "The requested scope is invalid, unknown, or malformed.")
InvalidState = _error(
    "InvalidState", "invalid_state", 400, "The state is missing or does not have enough characters and is "
    "therefore considered too weak.")
InsufficientEntropy = _error(
    "InsufficientEntropy", "insufficient_entropy", 400,
    "The request used a security parameter (e.g., anti-replay, anti-csrf) with insufficient entropy.")
AccessDenied = _error(
    "AccessDenied", "access_denied", 403, "The resource owner or authorization server denied the request.")
RequestForbidden = _error(
    "RequestForbidden", "request_forbidden", 403, "The request is not allowed.")
RequestUnauthorized = _error(
    "RequestUnauthorized", "request_unauthorized", 401, "The request could not be authorized.")
LoginRequired = _error(
    "LoginRequired", "login_required", 400, "The Authorization Server requires End-User authentication.")
ConsentRequired = _error(
    "ConsentRequired", "consent_required", 400, "The Authorization Server requires End-User consent.")
InteractionRequired = _error(
    "InteractionRequired", "interaction_required", 400,
    "The Authorization Server requires End-User interaction of some form to proceed.")
RequestNotSupported = _error(
    "RequestNotSupported", "request_not_supported", 400,
    "The OP does not support use of the request parameter.")
RequestURINotSupported = _error(
    "RequestURINotSupported", "request_uri_not_supported", 400,
    "The OP does not support use of the request_uri parameter.")
InvalidRequestURI = _error(
    "InvalidRequestURI", "invalid_request_uri", 400,
    "The request_uri in the Authorization Request returns an error or contains invalid data.")
InvalidRequestObject = _error(
    "InvalidRequestObject", "invalid_request_object", 400,
    "The request parameter contains an invalid Request Object.")
RegistrationNotSupported = _error(
    "RegistrationNotSupported", "registration_not_supported", 400,
    "The OP does not support use of the registration parameter.")
InvalidToken = _error(
    "InvalidToken", "invalid_token", 401, "Token is malformed, expired or otherwise invalid.")
ScopeNotGranted = _error(
    "ScopeNotGranted", "scope_not_granted", 403, "The token was not granted the requested scope.")
InsufficientScope = _error(
    "InsufficientScope", "insufficient_scope", 403,
    "The request requires higher privileges than provided by the access token.")
ServerError = _error(
    "ServerError", "server_error", 500,
    "The authorization server encountered an unexpected condition that prevented it from fulfilling the request.")
TemporarilyUnavailable = _error(
    "TemporarilyUnavailable", "temporarily_unavailable", 503,
    "The authorization server is currently unable to handle the request due to a temporary overloading or "
    "maintenance of the server.")
NotFound = _error("NotFound", "not_found", 404, "Could not find the requested resource(s).")
# Hydra's own fosite-shaped errors, whose `error` is an HTTP status text: x.ErrNotFound (flows, logout requests,
# key sets) and jwk.ErrUnsupportedKeyAlgorithm.
ResourceNotFound = _error("ResourceNotFound", "Not Found", 404, "Unable to locate the requested resource")
UnsupportedKeyAlgorithm = _error("UnsupportedKeyAlgorithm", "Bad Request", 400, "Unsupported key algorithm")


class APIError(Exception):
    """An admin-API error in Hydra's herodot shape: `{error, error_description}`."""

    def __init__(self, status_code: int, error: str, description: str = "", headers: dict[str, str] | None = None,
                 body: dict[str, Any] | None = None):
        super().__init__(error)
        self.status_code = status_code
        self.error = error
        self.description = description
        self.headers = headers or {}
        self.body = body  # a response body other than the error shape (Hydra's 410 {redirect_to})

    def to_dict(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        # Hydra renders herodot errors through fosite's GetDescription, which turns `"` into `'`.
        return {"error": self.error, "error_description": self.description.replace('"', "'")}


def bad_request(description: str) -> APIError:
    return APIError(400, "The request was malformed or contained invalid parameters", description)


def not_found(description: str = "") -> APIError:
    return APIError(404, "Unable to locate the resource", description)


def unrecognizable(status_code: int = 400) -> APIError:
    """What Hydra answers for a plain Go error (one that is neither herodot's nor fosite's), e.g. a consent
    body that does not decode."""
    return APIError(status_code, "error", "The error is unrecognizable")


def conflict(description: str = "") -> APIError:
    return APIError(409, "Unable to insert or update resource because a resource with that value exists already",
                    description)


class ClientMetadataError(APIError):
    """RFC 7591 errors on client registration, rendered as fosite does."""

    def __init__(self, error: str, description: str):
        super().__init__(400, error, description)


def invalid_client_metadata(hint: str) -> ClientMetadataError:
    return ClientMetadataError(
        "invalid_client_metadata",
        "The value of one of the Client Metadata fields is invalid and the server has rejected this request. Note "
        "that an Authorization Server MAY choose to substitute a valid value for any requested parameter of a "
        f"Client's Metadata. {hint}".rstrip())


def invalid_redirect_uri(hint: str) -> ClientMetadataError:
    return ClientMetadataError(
        "invalid_redirect_uri", f"The value of one or more redirect_uris is invalid. {hint}".rstrip())


class StorageUnavailable(TemporarilyUnavailable):  # type: ignore[misc, valid-type]
    """The database cannot be reached; answered with 503 and Retry-After, and the server recovers by itself."""

    def __init__(self, debug: str = ""):
        super().__init__("The database is unavailable, please try again later.", debug=debug,
                         headers={"Retry-After": "1"})


class StorageRejected(InvalidRequest):  # type: ignore[misc, valid-type]
    """PostgreSQL refused a value the client sent (NUL byte, oversized key, …): a 400, never a 500."""
