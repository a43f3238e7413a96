from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from tongzhou.accounts.throttle import check_sign_in_allowed
from tongzhou.errors import UserError


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        try:
            check_sign_in_allowed(self.cleaned_data.get("username", ""), self.request)
        except UserError as e:
            raise forms.ValidationError(str(e.message), code=e.code) from e
        return super().clean()
