from django.apps import AppConfig
from django.conf import settings
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from mes.hot_cache import bump_on_change


class MesConfig(AppConfig):
    name = "mes"
    verbose_name = _("MES core")

    def ready(self) -> None:
        # These modules import models, which load only now.
        from mes import audit, permissions, roles

        audit.register_audited_models()
        permissions.connect_permission_cache_signals()
        # The API's tokens and their users are kept per process (mes/hot_cache.py).
        bump_on_change("mes.ApiToken", settings.AUTH_USER_MODEL)

        # The admin's modules are loaded by now (the admin app comes first).
        from django.contrib import admin

        from mes.admin_site import permission_labels_install

        permission_labels_install(admin.site)

        # Permissions exist only after every app has migrated; keeping the
        # role table in sync then lets later apps add their permissions to it.
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="mes.sync_role_permissions")


class MesAdminConfig(AdminConfig):
    """Django's admin, on the site whose index is grouped for the day's work."""

    default_site = "mes.admin_site.MesAdminSite"
