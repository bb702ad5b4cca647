"""The admin site, its index ordered for a supervisor's day rather than by app.

The first section is what a supervisor looks at every day (work orders,
temporary grants, differences waiting for approval, incidents, set-aside floor
actions, fault reports); then master data, people and devices, stock and
history, connected systems and alerts; the technical records (schedules,
heartbeats, samples, statistics, the outbox, tokens, sign-in records) come
last in a section of their own. A model no section names keeps its app's own
section, before the technical one, so a model added later still shows.
The URLs stay Django's (``/admin/<app>/<model>/``); only the index and the
side bar are grouped. Models are named by ``app_label.ModelName`` strings,
so the kernel imports no app.
"""

from __future__ import annotations

from auditlog.filters import CIDFilter
from auditlog.models import LogEntry
from cron_descriptor import ExpressionDescriptor, Options
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import BooleanField
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

# (section key, title, [(model, name instead of the model's, query for the list)])
SECTIONS = [
    (
        "daily",
        _("Daily work"),
        [
            ("workorders.WorkOrder", None, ""),
            ("workorders.TemporaryGrant", None, ""),
            ("integrations.Discrepancy", _("Differences to approve"), "?repair__exact=pending"),
            ("monitoring.Incident", None, ""),
            ("workorders.FloorActionRejection", None, "?resolved_at__isempty=1"),
            ("workorders.FaultReport", None, ""),
            ("integrations.ReconciliationRun", None, ""),
        ],
    ),
    (
        "master-data",
        _("Master data"),
        [
            ("inventory.Material", None, ""),
            ("inventory.Location", None, ""),
            ("inventory.Batch", None, ""),
            ("workorders.Routing", None, ""),
            ("workorders.RoutingOperation", None, ""),
            ("workorders.WorkCenter", None, ""),
            ("workorders.Team", None, ""),
            ("workorders.Shift", None, ""),
        ],
    ),
    (
        "people",
        _("People and devices"),
        [
            ("auth.User", None, ""),
            ("auth.Group", None, ""),
            ("workorders.WorkerBadge", None, ""),
            ("workorders.FloorDevice", None, ""),
            ("workorders.Skill", None, ""),
            ("workorders.Post", None, ""),
            ("workorders.GrantRule", None, ""),
        ],
    ),
    (
        "history",
        _("Stock and history"),
        [
            ("inventory.StockBalance", None, ""),
            ("inventory.StockMovement", None, ""),
            ("inventory.StockReservation", None, ""),
            ("inventory.StockLedgerEntry", None, ""),
            ("inventory.CountTask", None, ""),
            ("workorders.WorkOrderEvent", None, ""),
            ("workorders.StaffingEvent", None, ""),
            ("integrations.InboundFile", None, ""),
            ("auditlog.LogEntry", _("Change log"), ""),
        ],
    ),
    (
        "systems",
        _("Connected systems and alerts"),
        [
            ("integrations.Node", None, ""),
            ("integrations.RepairPolicy", None, ""),
            ("monitoring.NotificationChannel", None, ""),
            ("monitoring.NotificationRule", None, ""),
            ("monitoring.Notification", None, ""),
            ("monitoring.StallThreshold", None, ""),
            ("monitoring.StabilityReport", None, ""),
        ],
    ),
]
TECHNICAL = (
    "technical",
    _("Technical records"),
    [
        ("django_celery_beat.PeriodicTask", None, ""),
        ("django_celery_beat.IntervalSchedule", None, ""),
        ("django_celery_beat.CrontabSchedule", None, ""),
        ("django_celery_beat.SolarSchedule", None, ""),
        ("django_celery_beat.ClockedSchedule", None, ""),
        ("monitoring.ProcessHeartbeat", None, ""),
        ("monitoring.ResourceSample", None, ""),
        ("monitoring.EndpointStat", None, ""),
        ("integrations.OutboxMessage", None, ""),
        ("integrations.InboundRecord", None, ""),
        ("authtoken.TokenProxy", None, ""),
        ("axes.AccessAttempt", None, ""),
        ("axes.AccessFailureLog", None, ""),
        ("axes.AccessLog", None, ""),
    ],
)


def _section(key: str, title, entries, found: dict) -> dict | None:
    models = []
    for label, name, query in entries:
        model = found.pop(label.lower(), None)
        if model is None:
            continue  # not installed, or not for this person
        model = dict(model)
        if name:
            model["name"] = name
        if query and model.get("admin_url"):
            model["admin_url"] += query
        models.append(model)
    if not models:
        return None
    first_url = (models[0].get("admin_url") or "").split("?")[0]
    return {
        "name": title,
        "app_label": f"section-{key}",
        "app_url": first_url,
        "has_module_perms": True,
        "models": models,
    }


def grouped_app_list(app_list: list[dict]) -> list[dict]:
    """Django's list of apps regrouped into the sections above."""
    found = {
        f"{app['app_label']}.{model['object_name']}".lower(): model
        for app in app_list
        for model in app["models"]
    }
    grouped = [_section(key, title, entries, found) for key, title, entries in SECTIONS]
    technical = _section(*TECHNICAL, found)
    rest = []
    for app in app_list:
        models = [
            model
            for model in app["models"]
            if f"{app['app_label']}.{model['object_name']}".lower() in found
        ]
        if models:
            rest.append({**app, "models": models})
    return [section for section in [*grouped, *rest, technical] if section]


# Django stores the names of the default permissions in English ("Can add work
# order"); they are named again here, in the reader's language.
DEFAULT_PERMISSIONS = {
    "add": _("Can add %(name)s"),
    "change": _("Can change %(name)s"),
    "delete": _("Can delete %(name)s"),
    "view": _("Can view %(name)s"),
}


def permission_label(permission: Permission) -> str:
    """ "Work orders | Can dispatch, return and reschedule work orders", translated."""
    content_type = permission.content_type
    model = content_type.model_class()
    action, _separator, model_name = permission.codename.partition("_")
    if model is not None and action in DEFAULT_PERMISSIONS and model_name == model._meta.model_name:
        name = str(DEFAULT_PERMISSIONS[action]) % {"name": model._meta.verbose_name}
    else:
        name = gettext(permission.name)  # the Meta.permissions names are msgids
    try:
        app = apps.get_app_config(content_type.app_label).verbose_name
    except LookupError:
        app = content_type.app_label
    return f"{app} | {name}"


# Models whose permissions grant nothing here, left out of the permission pickers:
# django-waffle's own flag (replaced by releases.Flag, which has its own permissions),
# switch and sample (not used); waffle's admin is off (docs/releases.md).
UNUSED_PERMISSION_MODELS = {"waffle": ("flag", "switch", "sample")}


class PermissionLabelsMixin:
    """Permission pickers (grants, users, groups) name each permission in the reader's
    language, and leave out the permissions that grant nothing."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.related_model is Permission:
            field.label_from_instance = permission_label
            for app_label, models in UNUSED_PERMISSION_MODELS.items():
                field.queryset = field.queryset.exclude(
                    content_type__app_label=app_label, content_type__model__in=models
                )
        return field


def _model_field(model, name: str):
    try:
        return model._meta.get_field(name) if model is not None else None
    except FieldDoesNotExist:
        return None


def field_label(model, name: str) -> str:
    """A field of ``model`` as people call it; a reverse relation by the related model."""
    field = _model_field(model, name)
    if field is None:
        return name
    if field.auto_created and not field.concrete:
        return str(capfirst(field.related_model._meta.verbose_name_plural))
    if field.primary_key:
        return "ID"
    return str(capfirst(field.verbose_name))


def _change_value(value, field=None) -> str:
    """A logged value as shown: a yes/no field in words (django-auditlog stores "True")."""
    if value in (None, "None", ""):
        return "\u2014"
    if isinstance(field, BooleanField) and str(value) in ("True", "False"):
        return gettext("Yes") if str(value) == "True" else gettext("No")
    return str(value)


class ResourceTypeLabelFilter(admin.SimpleListFilter):
    """The change log's filter by kind of record, named as the admin names them."""

    title = _("Resource Type")
    parameter_name = "resource_type"

    def lookups(self, request, model_admin):
        ids = model_admin.get_queryset(request).values_list("content_type_id", flat=True)
        types = ContentType.objects.filter(pk__in=ids.distinct().order_by())
        named = [
            (kind.pk, capfirst(kind.model_class()._meta.verbose_name))
            for kind in types
            if kind.model_class() is not None
        ]
        return sorted(named, key=lambda item: str(item[1]))

    def queryset(self, request, queryset):
        return queryset.filter(content_type_id=self.value()) if self.value() else queryset


class AuditLogLabelsMixin:
    """The change log in the reader's language: django-auditlog names changed fields by
    their attribute names, writes "2 changes" and "system" in English, and shows the
    record as it was named when logged."""

    list_filter = ["action", ResourceTypeLabelFilter, CIDFilter]

    @admin.display(description=_("Changes"))
    def msg_short(self, obj):
        if obj.action in (LogEntry.Action.DELETE, LogEntry.Action.ACCESS):
            return ""
        model = obj.content_type.model_class()
        names = [field_label(model, name) for name in obj.changes_dict]
        return ngettext(
            "%(count)d change: %(fields)s", "%(count)d changes: %(fields)s", len(names)
        ) % {"count": len(names), "fields": ", ".join(names)}

    @admin.display(description=_("Changes"))
    def msg(self, obj):
        model = obj.content_type.model_class()
        rows = []
        for name, change in obj.changes_dict.items():
            if isinstance(change, dict):  # many-to-many: what was added or removed
                objects = ", ".join(str(item) for item in change.get("objects", []))
                before, after = (
                    (objects, "") if change.get("operation") == "delete" else ("", objects)
                )
            else:
                before, after = [*list(change), None, None][:2]
            field = _model_field(model, name)
            rows.append(
                (
                    field_label(model, name),
                    _change_value(before, field),
                    _change_value(after, field),
                )
            )
        return format_html_join("", "<div>{}: {} \u2192 {}</div>", rows) or "-"

    @admin.display(description=_("Resource"))
    def resource_url(self, obj):
        model = obj.content_type.model_class()
        current = model._default_manager.filter(pk=obj.object_pk).first() if model else None
        name = str(current) if current is not None else obj.object_repr
        kind = capfirst(model._meta.verbose_name) if model else obj.content_type.model
        try:
            link = reverse(
                f"admin:{obj.content_type.app_label}_{obj.content_type.model}_change",
                args=[obj.object_pk],
            )
        except NoReverseMatch:
            return f"{kind} - {name}"
        return format_html('<a href="{}">{} - {}</a>', link, kind, name)

    @admin.display(description=_("User"))
    def user_url(self, obj):
        return super().user_url(obj) if obj.actor else gettext("system")

    @admin.display(description=_("Correlation ID"))
    def cid_url(self, obj):
        return super().cid_url(obj)


def cron_in_words(crontab) -> str:
    """A crontab schedule in the reader's language ("在 02:00"), as cron-descriptor says it."""
    options = Options()
    options.locale_code = "zh_CN" if (get_language() or "").startswith("zh") else "en_US"
    options.use_24hour_time_format = True
    expression = " ".join(
        str(part)
        for part in (
            crontab.minute,
            crontab.hour,
            crontab.day_of_month,
            crontab.month_of_year,
            crontab.day_of_week,
        )
    )
    try:
        return ExpressionDescriptor(expression, options).get_description()
    except Exception:  # an expression cron-descriptor cannot read: shown as it is
        return expression


class ScheduleLabelsMixin:
    """The beat schedules' computed columns, named and described in the reader's language."""

    @admin.display(description=_("schedule"))
    def scheduler(self, task):
        return task.scheduler

    @admin.display(description=_("in words"))
    def crontab_translation(self, task):
        return cron_in_words(task.crontab) if task.crontab else "-"

    @admin.display(description=_("in words"))
    def human_readable(self, crontab):
        return cron_in_words(crontab)


# Third-party admins given the mixins above, by model.
RELABELLED = {
    "auth.User": PermissionLabelsMixin,
    "auth.Group": PermissionLabelsMixin,
    "auditlog.LogEntry": AuditLogLabelsMixin,
    "django_celery_beat.PeriodicTask": ScheduleLabelsMixin,
    "django_celery_beat.CrontabSchedule": ScheduleLabelsMixin,
}


def permission_labels_install(site: admin.AdminSite) -> None:
    """Give the admins of users, groups and the change log the translated names (call it
    once every app has registered its admin: ``MesConfig.ready``)."""
    for model, model_admin in list(site._registry.items()):
        mixin = RELABELLED.get(model._meta.label)
        if mixin is not None and not isinstance(model_admin, mixin):
            site.unregister(model)
            labelled = type(type(model_admin).__name__, (mixin, type(model_admin)), {})
            site.register(model, labelled)


class MesAdminSite(admin.AdminSite):
    """Django's admin site with the index grouped by :func:`grouped_app_list`."""

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list  # one app's page stays that app's
        return grouped_app_list(app_list)
