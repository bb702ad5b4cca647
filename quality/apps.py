from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from mes.step_gates import install_step_gate


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = _("Quality")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Models load only now; importing services registers the QLT error codes too.
        from quality import services

        install_step_gate(services.step_gate)
