"""The domain's error for a bad query parameter, free of HTTP.

Domain code (search, reports, the parameter parsers) raises :class:`InvalidParameter`;
the service maps it to its 400 ``bad_parameter`` body (``service.errors``) and the CLI
to a flag name (``--{e}``).
"""

from __future__ import annotations


class InvalidParameter(ValueError):
    """A query parameter the domain cannot answer for; ``str(e)`` says why, and most
    messages start with the parameter's name (``from: must be before to``)."""

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        """The request parameter at fault (``from``, ``limit``, ``q``...)."""
