"""Admin building blocks shared by the apps.

Records that only services write (ledger, events, outbox, runs) are shown to
supervisors but never added, changed or deleted in the admin; the mixins say
which of the three a model admin refuses.
"""

from django.contrib import admin


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
