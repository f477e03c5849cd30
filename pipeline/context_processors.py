from django.conf import settings

from .notify.bell import Bell


def lockstep(request):
    return {"CURRENCY": settings.LOCKSTEP_CURRENCY, "bell": Bell(getattr(request, "user", None))}
