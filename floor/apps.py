from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext_lazy as _


class FloorConfig(AppConfig):
    name = "floor"
    verbose_name = _("Shop floor")

    def ready(self) -> None:
        # Register the floor's error codes at start-up, so the registry (and
        # /api/v1/error-codes/) is complete whatever was imported first. Django
        # wants app modules imported here, not when apps.py loads.
        from floor import errors  # noqa: F401
        from floor.middleware import floor_session_forget

        # A sign-in elsewhere (password) makes the session an ordinary one again.
        user_logged_in.connect(floor_session_forget, dispatch_uid="floor.session_forget")
