"""API rate limits: one budget per token and one per user (DRF throttling, 429 with Retry-After).

A user's budget covers their browser session and all their tokens together; each token also has
its own, smaller one, so one runaway script does not use up its owner's whole allowance. The
rates come from settings (API_RATE_PER_TOKEN / API_RATE_PER_USER); they are read per request so
that a test can change them with override_settings.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings

from people.models import ApiToken


class _SettingsRate:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        # The rate is parsed here, not in __init__, for the same reason.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class TokenRateThrottle(_SettingsRate, throttling.SimpleRateThrottle):
    scope = "token"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None  # a session: only the user's budget applies
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class UserRateThrottle(_SettingsRate, throttling.UserRateThrottle):
    scope = "user"
