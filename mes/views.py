from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mes.roles import role_names_of


@login_required
@require_GET
def home(request):
    """The home dashboard: what the signed-in person's roles lead to."""
    return render(request, "mes/home.html", {"roles": role_names_of(request.user)})
