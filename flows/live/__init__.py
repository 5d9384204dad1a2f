"""Live sources: contacts pulled from a Google or Microsoft account instead of a file.

`crm-import connect` signs in once and keeps the tokens in the token store (`accounts`);
`crm-import run google:NAME` pulls the account's contacts (`google`, `microsoft`) through
`http` and hands them to the same reader and pipeline as a file (the reader is the entry in
`transforms.sources.registry.LIVE_SOURCES`). After a completed run the account's sync state
is kept in the CRM (`sync`), so the next run pulls only what changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.sources.registry import LIVE_SOURCES

# each has its module here, flows/live/<provider>.py, with `pull(req, states) -> Pulled`
PROVIDERS = tuple(s.name for s in LIVE_SOURCES)


@dataclass(frozen=True)
class LiveRequest:
    """What to pull (never a token: this travels as a Prefect parameter)."""
    provider: str  # google | microsoft
    account: str  # the name given at `connect` (--account)
    other_contacts: bool = False  # google: also the "other contacts" Gmail collected
    as_user: str | None = None  # google: the user a service account reads as (--as)
    folder: str | None = None  # microsoft: a contact folder by name (--folder)
    user: str | None = None  # microsoft: a mailbox by id (--user; app-only access)

    @property
    def target(self) -> str:
        return f"{self.provider}:{self.account}"
