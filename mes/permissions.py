"""Who may do what: the API's model permissions and the authentication backend."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete
from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Django model permissions, with reads needing the `view_` permission too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


def permission_required(permission: str) -> type[BasePermission]:
    """A DRF permission class for one Django permission (an action, not a model's CRUD)."""

    class HasPermission(BasePermission):
        def has_permission(self, request, view) -> bool:
            return bool(request.user and request.user.has_perm(permission))

    HasPermission.__name__ = f"Has_{permission.replace('.', '_')}"
    return HasPermission


class CachedPermissionsBackend(ModelBackend):
    """Django's model backend, remembering each user's permission sets for a short while.

    Every API write checks permissions, and Django loads them with two queries
    per request (the user's own and a five-table join for the groups). Roles
    change a few times a week, so each process keeps the sets for
    ``MES_PERMISSION_CACHE_SECONDS`` (0 turns the cache off). A change of
    groups or permissions empties this process's cache at once (signals
    below); other web processes see it within that time (docs/security.md).
    """

    def _get_permissions(self, user_obj, obj, from_name):
        seconds = settings.MES_PERMISSION_CACHE_SECONDS
        if obj is not None or not seconds or not user_obj.is_active or user_obj.is_anonymous:
            return super()._get_permissions(user_obj, obj, from_name)
        # A superuser has every permission: demoting one must not keep that set.
        key = (from_name, user_obj.pk, user_obj.is_superuser)
        now = time.monotonic()
        cached = _permission_sets.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        permissions = frozenset(super()._get_permissions(user_obj, obj, from_name))
        _permission_sets[key] = (now + seconds, permissions)
        return permissions


_permission_sets: dict[tuple[str, int, bool], tuple[float, frozenset[str]]] = {}


def forget_cached_permissions(**_kwargs) -> None:
    _permission_sets.clear()


def connect_permission_cache_signals() -> None:
    """Empty the cache whenever who-may-do-what changes in this process."""
    user_model = get_user_model()
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(
            forget_cached_permissions, sender=through, dispatch_uid=f"perm-{through}"
        )
    for model in (user_model, Group, Permission):
        post_delete.connect(
            forget_cached_permissions, sender=model, dispatch_uid=f"perm-del-{model}"
        )
