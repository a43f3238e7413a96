"""One error type for every refusal a person should read, in their language."""

from __future__ import annotations

from django.utils.functional import Promise


class UserError(Exception):
    """Raised by `check_*`/`do_*` actions; the API and the pages both show `message`."""

    def __init__(self, code: str, message: str | Promise, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return str(self.message)
