"""Admin building blocks shared by the apps.

Records that only services write (ledger, events, outbox, runs) are shown to
supervisors but never added, changed or deleted in the admin; the mixins say
which of the three a model admin refuses.
"""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _


class NoAddMixin:
    def has_add_permission(self, request, *args) -> bool:
        return False


class NoChangeMixin:
    def has_change_permission(self, request, obj=None) -> bool:
        return False


class NoDeleteMixin:
    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(NoAddMixin, NoChangeMixin, NoDeleteMixin, admin.ModelAdmin):
    """Listed and inspected only; actions that call services still work."""


def issued_tokens_response(request, model_admin, tokens: list[tuple[str, str]]):
    """A page that shows newly issued tokens once: never stored, never cached.

    Admin actions return it instead of a message, so that the token does not
    pass through the message storage (a cookie or the session).
    """

    opts = model_admin.model._meta
    response = TemplateResponse(
        request,
        "admin/tokens_issued.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": _("New tokens"),
            "opts": opts,
            "tokens": tokens,
        },
    )
    response["Cache-Control"] = "no-store"
    return response
