"""Domain errors that services raise; the API and the portal turn them into messages.

Services raise django ``ValidationError`` (with a field → messages dict) for bad input
(HTTP 400) and :class:`Conflict` when the input is fine but the current state forbids it
(HTTP 409: an already active meter, the last admin, an issued invoice).
"""

from __future__ import annotations


class Conflict(Exception):
    def __init__(
        self, message: str, *, fields: dict[str, list[str]] | None = None, code: str = "conflict"
    ):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.code = code
