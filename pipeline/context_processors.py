from django.conf import settings


def lockstep(request):
    return {"CURRENCY": settings.LOCKSTEP_CURRENCY}
