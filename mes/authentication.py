"""``Authorization: Token <key>``: a person's API token (``mes.tokens``).

The key is looked up by its SHA-256; an unknown key answers 401 ``TOK-001``, a
revoked one 401 ``TOK-002``. The request then acts as the token's owner, with
the token as ``request.auth``, and the owner is the actor of every audit-log
entry the request writes (``mes.audit.audit_actor_adopt``) and the ``user`` of
its log lines: auditlog's middleware runs before DRF authenticates, so it
would otherwise see an anonymous request.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from mes.audit import audit_actor_adopt
from mes.errors import API_TOKEN_INVALID, ApplicationError
from mes.request_context import user_var
from mes.tokens import api_token_for_key

KEYWORD = "Token"


class TokenAuthenticationFailed(ApplicationError, AuthenticationFailed):
    """A refusal with the project's code that DRF also treats as failed authentication
    (401 with the ``WWW-Authenticate`` challenge, the request anonymous afterwards)."""

    def __init__(self, error) -> None:
        ApplicationError.__init__(self, error)
        self.detail = str(error.message)
        self.status_code = error.http_status


class ApiTokenAuthentication(BaseAuthentication):
    keyword = KEYWORD

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        try:
            if len(parts) != 2:
                raise ApplicationError(API_TOKEN_INVALID)
            token = api_token_for_key(parts[1].decode(errors="replace"))
        except ApplicationError as refused:
            raise TokenAuthenticationFailed(refused.error) from None
        audit_actor_adopt(token.user)
        user_var.set(token.user.get_username())
        return (token.user, token)

    def authenticate_header(self, request):
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mes.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token <key> (a personal API token, created on the "API tokens" page)',
        }
