"""API authentication and permissions: hashed API keys in `X-API-Key` (with a scope), the
API_KEY variable, or staff sessions (with their roles)."""

import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request
from rest_framework_api_key.models import APIKey

from supporthub import roles
from supporthub.actors import Actor
from supporthub.roles import KeyScope
from supporthub.services import api_key_record_use, api_key_scope, api_key_verify

HEADER = "X-API-Key"


class EnvironmentAPIKey:
    """Stands for the key given in the API_KEY environment variable."""

    name = "API_KEY (environment)"


def request_actor(request: Request) -> Actor:
    """Who a /v1 request acts as, for the history: the logged-in user, else its API key."""
    if request.user.is_authenticated:
        return Actor.of(request.user)
    return Actor.api_key(getattr(request.auth, "name", "") or "unnamed")


def caller_scope(request: Request) -> str:
    """Whose request this is, for per-caller budgets and keys: the stored key's prefix, the
    environment key, or the logged-in user."""
    prefix = getattr(request.auth, "prefix", None)
    if prefix:
        return f"key:{prefix}"
    if request.auth is not None:
        return "key:environment"
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return "anonymous"


class APIKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a request carrying `X-API-Key`.

    No header: not this authenticator's business (returns None). A header with an
    unknown, revoked or expired key: 401 at once, so a typo is never mistaken for
    an anonymous call.
    """

    def authenticate(self, request: Request) -> tuple[AnonymousUser, Any] | None:
        raw = request.META.get(settings.API_KEY_CUSTOM_HEADER, "")
        if not raw:
            return None
        if settings.API_KEY and hmac.compare_digest(raw.encode(), settings.API_KEY.encode()):
            return AnonymousUser(), EnvironmentAPIKey()
        try:
            key = api_key_verify(raw)  # checks the hash and revocation
        except APIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
        if key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        api_key_record_use(key=key)  # last-used timestamp, at most one write a minute
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return f'ApiKey header="{HEADER}"'


class RolePermission(permissions.BasePermission):
    """Staff sessions may do what the admin lets them do; API keys what their scope allows
    (supporthub.roles). The environment's API_KEY has the admin scope.

    The model is the view's queryset model (or its `permission_model`); the action is
    `view` for reads, `add` for creating POSTs, `change` for PATCH and for POST actions on
    one object (acknowledge, resolve). A view with `intake = True` is the intake endpoint.
    """

    message = f"Send a valid API key in the {HEADER} header, or log in as staff."

    def has_permission(self, request: Request, view: Any) -> bool:
        model = getattr(view, "permission_model", None)
        if model is None:
            queryset = getattr(view, "queryset", None)
            if queryset is None:  # a programming error: say which view, not AttributeError
                raise ImproperlyConfigured(f"{type(view).__name__} needs a queryset or a permission_model.")
            model = queryset.model
        return self.allows(request, model=model, action=_action(request, view), view=view)

    def allows(self, request: Request, *, model: Any, action: str, view: Any = None) -> bool:
        """Whether the caller may `action` on `model` (a view with other needs calls this)."""
        if request.auth is not None:
            scope = (
                KeyScope.ADMIN if isinstance(request.auth, EnvironmentAPIKey) else api_key_scope(request.auth)
            )
            intake = getattr(view, "intake", False)
            if roles.scope_allows(scope, model=model, action=action, intake=intake):
                return True
            self.message = f"This API key's scope ({scope or 'none'}) does not allow this request."
            return False
        user = request.user
        if not (user and user.is_active and user.is_staff):
            return False
        if roles.session_allows(request, model=model, action=action):
            return True
        self.message = f"Your role does not allow you to {action} {model._meta.verbose_name_plural}."
        return False


def _action(request: Request, view: Any) -> str:
    if request.method in permissions.SAFE_METHODS:
        return roles.VIEW
    if request.method == "DELETE":
        return roles.DELETE
    if request.method == "POST" and getattr(view, "action", None) in (None, "create"):
        return roles.ADD
    return roles.CHANGE
