from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongzhou.accounts.models import User
from tongzhou.accounts.throttle import check_sign_in_allowed
from tongzhou.accounts.zone import zones
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


# Where most members live first, named in words; then every IANA zone by its name.
COMMON_ZONES = [
    ("Asia/Shanghai", gettext_lazy("China (Beijing time)")),
    ("Asia/Hong_Kong", gettext_lazy("Hong Kong")),
    ("Asia/Macau", gettext_lazy("Macau")),
    ("Asia/Taipei", gettext_lazy("Taiwan")),
    ("Asia/Singapore", gettext_lazy("Singapore")),
    ("Asia/Kuala_Lumpur", gettext_lazy("Malaysia")),
    ("Asia/Tokyo", gettext_lazy("Japan")),
    ("America/New_York", gettext_lazy("USA, East (New York)")),
    ("America/Los_Angeles", gettext_lazy("USA, West (Los Angeles)")),
    ("America/Toronto", gettext_lazy("Canada, East (Toronto)")),
    ("America/Vancouver", gettext_lazy("Canada, West (Vancouver)")),
    ("Europe/London", gettext_lazy("United Kingdom")),
    ("Australia/Sydney", gettext_lazy("Australia, East (Sydney)")),
]


def timezone_choices() -> dict[str, list[tuple[str, str]]]:
    """{"common": [(zone, words)], "all": [(zone, zone)]} for the profile's select."""
    common = [(z, f"{label} · {z}") for z, label in COMMON_ZONES]
    known = {z for z, _label in COMMON_ZONES}
    rest = sorted(z for z in zones() if z not in known and "/" in z and not z.startswith("Etc/"))
    return {"common": common, "all": [(z, z.replace("_", " ")) for z in rest]}
