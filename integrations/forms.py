from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.errors import IMPORT_FILE_TOO_LARGE
from integrations.models import InboundFile, Node
from mes.errors import API_VALIDATION, ApplicationError


class FileImportForm(forms.Form):
    node = forms.ModelChoiceField(
        label=_("From system"), queryset=Node.objects.filter(is_active=True)
    )
    kind = forms.ChoiceField(label=_("What the file holds"), choices=InboundFile.Kind.choices)
    file = forms.FileField(label=_("File (CSV, TSV or XLSX)"))


def check_upload_sizes(files) -> None:
    """413 ``INT-114`` for any uploaded file over ``MES_IMPORT_MAX_BYTES``, before one is read."""
    limit = settings.IMPORT_MAX_BYTES
    for _name, uploads in files.lists():
        if any(upload.size > limit for upload in uploads):
            raise ApplicationError(IMPORT_FILE_TOO_LARGE, extra={"limit_bytes": limit})


def form_error(form: forms.Form) -> ApplicationError:
    """The form's problems as the application error the pages show (``API-001``)."""
    return ApplicationError(
        API_VALIDATION,
        fields={
            name: [str(message) for message in messages] for name, messages in form.errors.items()
        },
    )


CUTOFF_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class ReconciliationStartForm(forms.Form):
    erp_file = forms.FileField(label=_("ERP stock file"), required=False)
    wms_file = forms.FileField(label=_("WMS stock file"), required=False)
    pull_from_nodes = forms.BooleanField(
        label=_("Pull from the configured ERP and WMS"),
        required=False,
        help_text=_("For a system without a file: its snapshot is pulled from the connected node."),
    )
    cutoff_at = forms.DateTimeField(
        label=_("Snapshot cut-off"),
        required=False,
        input_formats=[
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
        ],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_(
            "When the files were exported, factory local time. Empty: now. Movements "
            "recorded after it are not differences."
        ),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: report the differences, repair nothing"), required=False
    )

    def clean_cutoff_at(self):
        cutoff_at = self.cleaned_data["cutoff_at"]
        if cutoff_at and cutoff_at > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError(_("The cut-off cannot be in the future."))
        return cutoff_at

    def clean(self):
        cleaned = super().clean()
        has_file = cleaned.get("erp_file") or cleaned.get("wms_file")
        if not has_file and not cleaned.get("pull_from_nodes") and not self.errors:
            raise forms.ValidationError(
                _("Choose an ERP or WMS file, or pull from the configured systems.")
            )
        return cleaned

    def uploads(self) -> dict[str, tuple[str, bytes]]:
        """The files given, read, by system."""
        found = {}
        for system in ("erp", "wms"):
            upload = self.cleaned_data.get(f"{system}_file")
            if upload:
                found[system] = (upload.name, upload.read())
        return found


class _IdListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        try:
            return sorted({int(item) for item in value})
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(_("Choose differences from the list.")) from exc


class DiscrepancyDecideForm(forms.Form):
    ids = _IdListField(
        label=_("Differences"),
        error_messages={"required": _("Choose at least one difference waiting for approval.")},
    )
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("reject", _("Reject"))]
    )
