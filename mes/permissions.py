"""Who may do what: the one permission gate, the API's permission classes and the
authentication backend.

A person may do something through their role (Django permissions of their
groups, cached per process) or through a temporary grant (a supervisor's
grant for a shift, never cached: it starts and ends by the clock). Services,
API views, pages and the floor all ask :func:`authorize` or :func:`may`, so a
grant works everywhere a role does, and a revoked grant nowhere. Grants are
stored by workorders (they name a shift), which installs the lookup when
Django starts (``WorkordersConfig.ready``).
"""

from __future__ import annotations

import time
from functools import wraps

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models.signals import m2m_changed, post_delete
from rest_framework.permissions import BasePermission, DjangoModelPermissions

from mes.errors import API_PERMISSION_DENIED, ApplicationError
from mes.grants import active_grant_for
from mes.hot_cache import ProcessCache


def authorize(actor, permission: str | None):
    """Let ``actor`` do what ``permission`` names, or raise ``API-003``.

    Returns the grant that allowed it when the role did not (events name it),
    else ``None``. ``actor=None`` is the system itself and may do anything.
    """
    if permission is None or actor is None or actor.has_perm(permission):
        return None
    grant = active_grant_for(actor, permission)
    if grant is None:
        raise ApplicationError(API_PERMISSION_DENIED, extra={"permission": permission})
    return grant


def may(actor, permission: str) -> bool:
    """Whether ``actor`` may do what ``permission`` names (role or grant)."""
    return (
        actor is None
        or actor.has_perm(permission)
        or active_grant_for(actor, permission) is not None
    )


class ModelPermissions(DjangoModelPermissions):
    """Django model permissions through the gate (roles or temporary grants), with
    reads needing the `view_` permission too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        model = self._queryset(view).model
        return all(may(user, perm) for perm in self.get_required_permissions(request.method, model))


def page_permission_required(*permissions: str):
    """A page for people who may do all of ``permissions`` (role or grant): the
    sign-in page for the anonymous, 403 for the others."""

    def decorate(view):
        @wraps(view)
        @login_required
        def guarded(request, *args, **kwargs):
            if not all(may(request.user, permission) for permission in permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def permission_required(permission: str) -> type[BasePermission]:
    """A DRF permission class for one Django permission (an action, not a model's CRUD)."""

    class HasPermission(BasePermission):
        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and may(user, permission))

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

    def get_user(self, user_id):
        """The signed-in user of a session, kept per process (``mes.hot_cache``; saving a
        user bumps it): a page or floor request reads its user without a query. Each
        request gets its own copy."""
        user = _SIGNED_IN_USERS.get(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

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
_SIGNED_IN_USERS = ProcessCache(lambda pk: get_user_model()._default_manager.filter(pk=pk).first())


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
