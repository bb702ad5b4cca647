from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from integrations import selectors, services
from integrations.forms import FileImportForm
from integrations.models import InboundFile
from mes.errors import ApplicationError


@login_required
@permission_required("integrations.add_inboundfile", raise_exception=True)
@require_http_methods(["GET", "POST"])
def file_import(request):
    """Upload a stock file; it is imported all or nothing, and only once."""
    form = FileImportForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            record, _already = services.inbound_file_import(
                actor=request.user,
                node=form.cleaned_data["node"],
                kind=form.cleaned_data["kind"],
                data=upload.read(),
                filename=upload.name,
            )
        except ApplicationError as exc:
            error = exc
        else:
            return redirect("integrations:file", pk=record.pk)
    return render(
        request,
        "integrations/file_import.html",
        {"form": form, "error": error, "recent": selectors.inbound_file_list()[:20]},
        status=400 if error else 200,
    )


@login_required
@permission_required("integrations.view_inboundfile", raise_exception=True)
def file_detail(request, pk: int):
    record = get_object_or_404(InboundFile.objects.select_related("node", "actor"), pk=pk)
    return render(request, "integrations/file_detail.html", {"file": record})
