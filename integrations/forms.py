from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.models import InboundFile, Node

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class FileImportForm(forms.Form):
    node = forms.ModelChoiceField(
        label=_("From system"), queryset=Node.objects.filter(is_active=True)
    )
    kind = forms.ChoiceField(label=_("What the file holds"), choices=InboundFile.Kind.choices)
    file = forms.FileField(label=_("File (CSV, TSV or XLSX)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload
