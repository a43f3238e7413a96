from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.accounts.throttle import check_sign_in_allowed
from tongzhou.errors import UserError


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username", "")
        try:
            check_sign_in_allowed(username, self.request)
        except UserError as e:
            raise forms.ValidationError(str(e.message), code=e.code) from e
        if (
            username
            and User.objects.filter(username__iexact=username, banned_at__isnull=False).exists()
        ):
            raise forms.ValidationError(
                _("This account was banned from this server by a group leader."), code="banned"
            )
        return super().clean()
