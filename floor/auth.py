"""Floor device tokens: ``Authorization: Device <token>``, accepted by the floor only.

A registered scanner (``FloorDevice``) sends its token; the worker using it
still signs in with a badge or PIN, and that session says who acts. So a floor
request with a device token is authenticated as the signed-in worker, with
the device as ``request.auth`` (recorded with every action). A badge sign-in
made with a device token remembers the device in the session: revoking the
device ends that session (``floor.middleware``; the check here stays for a
session the middleware has not seen).

Everywhere else the token is refused (``DeviceTokenRefused`` is the first of
the API's default authenticators): a device token never carries a person's
rights to the rest of the API. ``MES_FLOOR_REQUIRE_DEVICE_TOKEN`` makes the
floor endpoints and the badge sign-in require a registered device.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from floor import errors, services
from floor.services import SESSION_DEVICE_KEY
from mes.authentication import ApiTokenAuthentication
from mes.errors import API_NOT_AUTHENTICATED, ApplicationError
from workorders.models import FloorDevice

KEYWORD = "Device"


class DeviceAuthenticationFailed(ApplicationError, AuthenticationFailed):
    """A refusal with the project's code (the API handler's payload) that DRF also sees
    as failed authentication, so that the request is then anonymous and a page that
    renders afterwards (the browsable API, the API docs) does not authenticate again."""

    def __init__(self, error) -> None:
        ApplicationError.__init__(self, error)
        self.detail = str(error.message)
        self.status_code = error.http_status


def _refuse(error) -> DeviceAuthenticationFailed:
    return DeviceAuthenticationFailed(error)


def device_token_of(request) -> str | None:
    """The token of an ``Authorization: Device <token>`` header ("" if malformed), else None."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].decode(errors="replace") != KEYWORD:
        return None
    return parts[1].decode(errors="replace") if len(parts) == 2 else ""


def device_token_required() -> bool:
    return bool(getattr(settings, "MES_FLOOR_REQUIRE_DEVICE_TOKEN", False))


def request_device(request: HttpRequest) -> FloorDevice | None:
    """The device a plain Django request (the badge sign-in) comes from; 401 codes raised."""
    token = device_token_of(request)
    if token is None:
        if device_token_required():
            raise ApplicationError(errors.DEVICE_TOKEN_REQUIRED)
        return None
    return services.floor_device_for_token(token)


class FloorDeviceAuthentication(SessionAuthentication):
    """The floor endpoints' first authenticator: the device from its token (or from a
    session signed in with it), the worker from the badge session (CSRF checked)."""

    def authenticate(self, request):
        token = device_token_of(request)
        session = getattr(request._request, "session", None)
        bound = session.get(SESSION_DEVICE_KEY) if session is not None else None
        try:
            if token is not None:
                device = services.floor_device_for_token(token)
            elif bound is not None:  # checked already by the middleware, or here
                device = getattr(request._request, "floor_device", None)
                device = device or services.floor_device_active(bound)
            else:
                return None  # no device: the API token or the session, as before
        except ApplicationError as refused:
            raise _refuse(refused.error) from None
        found = super().authenticate(request)
        if found is None:  # a device alone acts for nobody: a worker signs in on it
            raise _refuse(API_NOT_AUTHENTICATED)
        return (found[0], device)

    def authenticate_header(self, request):
        return KEYWORD


class DeviceTokenRefused(BaseAuthentication):
    """First of the API's default authenticators: a device token outside the floor is 401
    (``FLR-025``), whatever session or other credential comes with it."""

    def authenticate(self, request):
        if device_token_of(request) is not None:
            raise _refuse(errors.DEVICE_TOKEN_NOT_HERE)
        return None

    def authenticate_header(self, request):
        return ApiTokenAuthentication.keyword  # the API's challenge stays the API token's


class FloorDeviceRequired(BasePermission):
    """With ``MES_FLOOR_REQUIRE_DEVICE_TOKEN``: only registered devices (``FLR-024``)."""

    def has_permission(self, request, view) -> bool:
        if device_token_required() and not isinstance(request.auth, FloorDevice):
            raise ApplicationError(errors.DEVICE_TOKEN_REQUIRED)
        return True


FLOOR_AUTHENTICATION = [FloorDeviceAuthentication, ApiTokenAuthentication, SessionAuthentication]


class FloorDeviceScheme(OpenApiAuthenticationExtension):
    target_class = "floor.auth.FloorDeviceAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Device <token> (a registered floor device; a worker signs in on it)",
        }


class DeviceTokenRefusedScheme(OpenApiAuthenticationExtension):
    """Refuses only; it adds no way to authenticate to the schema."""

    target_class = "floor.auth.DeviceTokenRefused"
    name: list[str] = []

    def get_security_definition(self, auto_schema):
        return []

    def get_security_requirement(self, auto_schema):
        return None
