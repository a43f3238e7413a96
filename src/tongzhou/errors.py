"""One error type for every refusal a person should read, in their language."""

from __future__ import annotations

from django.utils.functional import Promise

MAX_ID = 2**63 - 1


class UserError(Exception):
    """Raised by `check_*`/`do_*` actions; the API and the pages both show `message`."""

    def __init__(self, code: str, message: str | Promise, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return str(self.message)


def parse_id(value: object, code: str = "not_found") -> int:
    """An id from a form, path or frame; anything else is the same 404 as a missing row."""
    from django.utils.translation import gettext as _

    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise UserError(code, _("Not found."), 404)
    return value
