"""Known failures, each carrying a short message that is safe to show a user.

Domain code raises these; the Discord error handler and the CLI turn them into a short
ephemeral reply or a one-line message on stderr. Anything that is not a ``LitError`` is a bug:
it is logged with a reference id and the user sees only that id.
"""

from __future__ import annotations


class LitError(Exception):
    """Base class: ``user_message`` is short, plain and safe to show to anyone."""

    exit_code = 1

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class InvalidIdentifier(LitError):
    """The input is not a DOI, arXiv id, PMID, PMCID or a searchable title."""

    exit_code = 2


class NotFound(LitError):
    """No source knows the identifier."""

    exit_code = 2


class PermissionDenied(LitError):
    """The member may not do this here (e.g. it needs Manage Server)."""

    exit_code = 2


class UpstreamError(LitError):
    """Every source that could answer failed (timeout, 429, 5xx, junk) and nothing is cached."""

    exit_code = 3


class Cooldown(LitError):
    """An expensive command (an import, an export) used too often; ``retry_after`` in seconds."""

    exit_code = 2

    def __init__(self, user_message: str, retry_after: float) -> None:
        super().__init__(user_message)
        self.retry_after = retry_after


class StaleComponent(LitError):
    """A button or menu whose custom id (or chosen value) names nothing that can exist."""

    exit_code = 2
