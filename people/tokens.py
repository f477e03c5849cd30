"""API tokens: how a secret is made and recognised, and the DRF authentication that reads it.

A token is `lst_<random>`; only its SHA-256 digest is stored, so a stolen database does not
yield working tokens. SHA-256 (not a slow password hash) is enough because the secret is 32
random bytes, not something a person chose.
"""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from .models import ApiToken

SECRET_PREFIX = "lst_"
VISIBLE_CHARS = 8  # of the secret, after SECRET_PREFIX, kept to tell tokens apart
# last_used_at is written at most this often per token, so reads don't each cost a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def visible_prefix(secret: str) -> str:
    return secret[: len(SECRET_PREFIX) + VISIBLE_CHARS]


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer lst_…` (or `Token lst_…`): the token's user, if it is active."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Give the token after the word Bearer, with no spaces in it.")
        try:
            secret = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("This token is not valid.") from None
        token = (
            ApiToken.objects.active()
            .select_related("user", "user__team")
            .filter(digest=digest(secret), user__is_active=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("This token is not valid, or has been revoked.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token


class TokenScopeAllows(permissions.BasePermission):
    """Read-only tokens may only read: any unsafe method is refused with 403."""

    message = "This token is read-only; make a read-and-write token on your profile page to change data."

    def has_permission(self, request, view):
        token = request.auth
        if isinstance(token, ApiToken) and token.is_read_only:
            return request.method in permissions.SAFE_METHODS
        return True


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes `TokenAuthentication` in the OpenAPI schema (a bearer token)."""

    target_class = "people.tokens.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from your profile page: `Authorization: Bearer lst_…`.",
        }
