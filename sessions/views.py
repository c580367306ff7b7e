from django.shortcuts import get_object_or_404, render

from .models import ProcessSession


def overview(request):
    return render(request, "sessions/overview.html", {})


def session_detail(request, session_id):
    session = get_object_or_404(ProcessSession, session_id=session_id)
    return render(request, "sessions/session_detail.html", {"session": session})
