"""People's API tokens: created (the key returned once), revoked, looked up by key.

Only the SHA-256 of a key is stored (``ApiToken.key_hash``), like the floor's
device tokens and the nodes' inbound tokens. A person manages only their own
tokens; a superuser manages anyone's; the system (``actor=None``: the
``api_token_create`` command, migrations) may do either. A token another
person may not manage is "not found" to them (``API-004``), so that nobody
learns which tokens exist. Creation and revocation are in the audit log
(``mes/audit.py``); the key and its hash never are.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.errors import (
    API_NOT_FOUND,
    API_TOKEN_INVALID,
    API_TOKEN_REVOKED,
    API_VALIDATION,
    ApplicationError,
)
from mes.hot_cache import ProcessCache
from mes.models import ApiToken

logger = logging.getLogger("mes.tokens")

KEY_PREFIX_LENGTH = 8
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length
LAST_USED_EVERY = timedelta(minutes=1)  # at most one write per token and minute


@dataclass(frozen=True)
class IssuedApiToken:
    """A new token with its key: the key exists only here, to be shown once."""

    token: ApiToken
    key: str


def secret_hash(secret: str) -> str:
    """What is stored of every secret we issue (API, device and node tokens): SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()


def may_manage_tokens_of(actor, user) -> bool:
    """Own tokens, or anyone's for a superuser (``actor=None``: the system)."""
    if actor is None:
        return True
    if not (actor.is_authenticated and actor.is_active):
        return False
    return actor.pk == user.pk or actor.is_superuser


def _invalid(field: str, message) -> ApplicationError:
    return ApplicationError(API_VALIDATION, fields={field: [str(message)]})


@transaction.atomic
def api_token_create(*, actor, user, name: str) -> IssuedApiToken:
    """Create a token for ``user``; the key is returned once and only its hash is kept."""
    if not may_manage_tokens_of(actor, user):
        raise ApplicationError(API_NOT_FOUND)
    name = (name or "").strip()
    if not name:
        raise _invalid("name", _("Give the token a name: what or who uses it."))
    if len(name) > NAME_MAX_LENGTH:
        raise _invalid("name", _("At most %(count)d characters.") % {"count": NAME_MAX_LENGTH})
    if not user.is_active:
        raise _invalid("user", _("This user is inactive."))
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_prefix=key[:KEY_PREFIX_LENGTH],
        key_hash=secret_hash(key),
        created_by=actor,
    )
    logger.info("API token created", extra={"token": token.pk, "owner": user.get_username()})
    return IssuedApiToken(token, key)


@transaction.atomic
def api_token_revoke(*, actor, token_id: int) -> ApiToken:
    """Stop a token at once (401 ``TOK-002`` from then on); revoking twice changes nothing."""
    token = ApiToken.objects.select_for_update().select_related("user").filter(pk=token_id).first()
    if token is None or not may_manage_tokens_of(actor, token.user):
        raise ApplicationError(API_NOT_FOUND)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        logger.info("API token revoked", extra={"token": token.pk})
    return token


def api_tokens_of(user) -> QuerySet[ApiToken]:
    """A person's own tokens, newest first (revoked ones too)."""
    return ApiToken.objects.filter(user=user).select_related("revoked_by")


def _token_with_user(key_hash: str) -> ApiToken | None:
    return ApiToken.objects.select_related("user").filter(key_hash=key_hash).first()


# Read on every API call; a revoked token or a deactivated user bumps the
# generation (``mes.apps``), so no process serves them again.
_TOKENS = ProcessCache(_token_with_user)
_last_noted: dict[str, datetime] = {}  # by key hash: when this process last stored a use


def api_token_for_key(key: str) -> ApiToken:
    """The live token of this key with its user: ``TOK-001`` unknown (or its user
    inactive), ``TOK-002`` revoked (both 401). Notes the use at most once a minute."""
    token = _TOKENS.get(secret_hash(key)) if key else None
    if token is None or not token.user.is_active:
        raise ApplicationError(API_TOKEN_INVALID)
    if token.revoked_at is not None:
        raise ApplicationError(API_TOKEN_REVOKED)
    # Each request gets its own user: permission sets are remembered on the instance.
    token.user = copy.copy(token.user)
    now = timezone.now()
    last_used = max(
        filter(None, (token.last_used_at, _last_noted.get(token.key_hash))), default=None
    )
    if last_used is None or now - last_used >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        _last_noted[token.key_hash] = now
        last_used = now
    token.last_used_at = last_used
    return token
