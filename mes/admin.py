"""Admin building blocks shared by the apps.

Records that only services write (ledger, events, outbox, runs) are shown to
supervisors but never added, changed or deleted in the admin; the mixins say
which of the three a model admin refuses.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connections
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.models import ApiToken
from mes.tokens import api_token_create, api_token_revoke


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


class EstimatedCountPaginator(Paginator):
    """Pages of a table of millions of rows (the ledger, the events) without counting it.

    Unfiltered on PostgreSQL, the total is the planner's estimate of the table's rows
    (``pg_class.reltuples``, kept by autovacuum's ANALYZE) once it passes
    ``ESTIMATE_ABOVE``: an exact ``COUNT(*)`` of 4M movements takes about 0.35 s. A
    filtered list, a small table and SQLite are counted exactly.
    """

    ESTIMATE_ABOVE = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[getattr(queryset, "db", "default")]
        query = getattr(queryset, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > self.ESTIMATE_ABOVE:
                return row[0]
        return super().count


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist of a table that grows by the million: no second count of the whole
    table ("of N in all") and an estimated count when unfiltered."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False


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


# --- People's API tokens: superusers only --------------------------------------------------
@admin.register(ApiToken)
class ApiTokenAdmin(NoChangeMixin, NoDeleteMixin, admin.ModelAdmin):
    """Everyone's API tokens, for superusers alone (staff roles do not see this page).

    Listed without keys (only their first characters are kept); adding one goes
    through ``mes.tokens`` and shows the key once; *Revoke* stops tokens at once.
    """

    list_display = (
        "name",
        "user",
        "key_prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "key_prefix", "user__username")
    list_select_related = ("user", "created_by", "revoked_by")
    autocomplete_fields = ("user",)
    readonly_fields = (
        "key_prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )
    actions = ["revoke"]

    def _superuser(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_module_permission(self, request) -> bool:
        return self._superuser(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._superuser(request)

    def has_add_permission(self, request) -> bool:
        return self._superuser(request)

    def has_revoke_permission(self, request) -> bool:
        return self._superuser(request)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "name")
        return ("user", "name", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        issued = api_token_create(actor=request.user, user=obj.user, name=obj.name)
        obj.pk, obj.key_prefix = issued.token.pk, issued.token.key_prefix
        request._issued_api_key = (issued.token, issued.key)

    def response_add(self, request, obj, post_url_continue=None):
        issued = getattr(request, "_issued_api_key", None)
        if issued is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/api_token_issued.html",
            {
                **self.admin_site.each_context(request),
                "title": _("New API token"),
                "opts": self.model._meta,
                "token": issued[0],
                "key": issued[1],
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(
        description=gettext_lazy("Revoke the tokens (refused at once)"), permissions=["revoke"]
    )
    def revoke(self, request, queryset):
        for token in queryset:
            api_token_revoke(actor=request.user, token_id=token.pk)
        self.message_user(
            request, _("%(count)d API tokens revoked.") % {"count": len(queryset)}, messages.SUCCESS
        )
