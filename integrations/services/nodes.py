"""Node tokens: how an ERP or WMS authenticates its pushes to us."""

from __future__ import annotations

import secrets

from integrations.models import Node
from mes.tokens import secret_hash


def node_token_rotate(*, node_id: int) -> str:
    """Issue a new inbound token; only its hash is stored, the token is shown once."""
    token = secrets.token_urlsafe(32)
    Node.objects.filter(pk=node_id).update(inbound_token_hash=secret_hash(token))
    return token


def node_token_revoke(*, node_id: int) -> None:
    """Stop the node's inbound token at once; it pushes again only with a new one."""
    Node.objects.filter(pk=node_id).update(inbound_token_hash="")


def node_for_token(token: str) -> Node | None:
    if not token:
        return None
    return Node.objects.filter(inbound_token_hash=secret_hash(token), is_active=True).first()
