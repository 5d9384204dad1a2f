"""Google Contacts through the People API: signing in (`connect google`) and the pull.

Signing in is OAuth 2.0 for installed apps, done by google-auth-oauthlib: a loopback
redirect on 127.0.0.1, PKCE (S256) and `state`
(https://developers.google.com/identity/protocols/oauth2/native-app). A Workspace
service account with domain-wide delegation reads a user's contacts as that user
(`--as`), by google-auth (https://developers.google.com/identity/protocols/oauth2/service-account).

The pull: people.connections.list (https://developers.google.com/people/api/rest/v1/people.connections/list)
and otherContacts.list (https://developers.google.com/people/api/rest/v1/otherContacts/list),
1000 a page, following nextPageToken; with requestSyncToken the last page's nextSyncToken
is the next run's syncToken, and then deleted persons come with metadata.deleted. A sync
token expires after 7 days (400, reason EXPIRED_SYNC_TOKEN): the folder is pulled whole.
"""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.errors import CrmImportError, LiveSourceFailed
from flows.live import LiveRequest, accounts
from flows.live.config import (
    ca_bundle,
    config_dir,
    google_api_url,
    google_auth_url,
    google_token_url,
)
from flows.live.http import Api, ApiError
from flows.live.pull import Pulled, expired_warning

CONTACTS = "https://www.googleapis.com/auth/contacts.readonly"
OTHER_CONTACTS = "https://www.googleapis.com/auth/contacts.other.readonly"
PERSON_FIELDS = ("names,organizations,emailAddresses,phoneNumbers,addresses,urls,biographies,"
                 "memberships,birthdays,metadata")
OTHER_FIELDS = "names,emailAddresses,phoneNumbers,metadata"  # (all otherContacts allows)
PAGE_SIZE = 1000
# folder → (path, the list's key, the field mask's parameter, its fields)
FOLDERS = {"connections": ("/v1/people/me/connections", "connections", "personFields",
                           PERSON_FIELDS),
           "otherContacts": ("/v1/otherContacts", "otherContacts", "readMask", OTHER_FIELDS)}
REGISTER = ("create an OAuth client of type \"Desktop app\" in the Google Cloud console "
            "(APIs & Services → Credentials), enable the People API, download its JSON and "
            "give it with --client-secrets (docs/SOURCES.md)")


def _session():
    import requests

    session = requests.Session()
    session.verify = ca_bundle()
    return session


def _client_config(path: Path | None) -> dict[str, Any]:
    path = path or config_dir() / "client_secret.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CrmImportError(f"{path}: no such file (the Google OAuth client) — "
                             + REGISTER) from None
    except (OSError, ValueError) as exc:
        raise CrmImportError(f"{path}: not a Google OAuth client file "
                             f"({type(exc).__name__})") from None
    client = data.get("installed") if isinstance(data, dict) else None
    if not isinstance(client, dict) or not client.get("client_id"):
        raise CrmImportError(f"{path}: not the JSON of a Google OAuth client for a desktop "
                             f"app (no \"installed\" client_id) — {REGISTER}")
    return {"installed": {**client, "auth_uri": google_auth_url(),
                          "token_uri": google_token_url()}}


def connect_user(account: accounts.Account, *, client_secrets: Path | None, no_browser: bool,
                 other_contacts: bool, timeout: float = 300.0) -> dict[str, Any]:
    """Sign in in the browser; the refresh token goes to the token store."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    scopes = [CONTACTS, *([OTHER_CONTACTS] if other_contacts else [])]
    flow = InstalledAppFlow.from_client_config(_client_config(client_secrets), scopes,
                                               autogenerate_code_verifier=True)
    flow.oauth2session.verify = ca_bundle()
    prompt = "{url}" if no_browser else "Sign in in the browser; if none opened, open:\n{url}"
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the URL on stderr, --json on stdout
            creds = flow.run_local_server(host="127.0.0.1", port=0, open_browser=not no_browser,
                                          authorization_prompt_message=prompt,
                                          timeout_seconds=int(timeout), prompt="consent")
    except Exception as exc:  # the library's errors: say which step, not its text
        raise LiveSourceFailed(account.target, f"signing in failed ({type(exc).__name__}: "
                               f"{_oauth_reason(exc)})",
                               hint="run `crm-import connect google` again") from None
    if not creds.refresh_token:
        raise LiveSourceFailed(account.target, "Google gave no refresh token",
                               hint="remove crm-import's access in the Google account "
                                    "(Security → Third-party access) and connect again")
    granted = getattr(creds, "granted_scopes", None) or scopes  # (a box may be unticked)
    granted = granted.split() if isinstance(granted, str) else list(granted)
    accounts.save(account, {"kind": "user", "scopes": granted,
                            "credentials": json.loads(creds.to_json())})
    return {"account": account.target, "kind": "user", "scopes": granted}


def _oauth_reason(exc: Exception) -> str:
    """An OAuth library error's code (invalid_grant, mismatching_state …), not its text."""
    return str(getattr(exc, "error", None) or "no answer")


def connect_service_account(account: accounts.Account, key_file: Path) -> dict[str, Any]:
    """Keep a Workspace service account's key (domain-wide delegation) in the token store."""
    try:
        key = json.loads(key_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CrmImportError(f"{key_file}: not readable as a service account key "
                             f"({type(exc).__name__})") from None
    if not isinstance(key, dict) or key.get("type") != "service_account" or not all(
            key.get(k) for k in ("client_email", "private_key", "token_uri")):
        raise CrmImportError(f"{key_file}: not a Google service account key (its JSON has "
                             "type \"service_account\", client_email and private_key)")
    accounts.save(account, {"kind": "service_account", "scopes": [CONTACTS, OTHER_CONTACTS],
                            "client_email": key["client_email"], "key": key})
    return {"account": account.target, "kind": "service_account",
            "client_email": key["client_email"]}


class _Token:
    """The account's access token, refreshed when asked (and kept, for a user)."""

    def __init__(self, account: accounts.Account, record: dict[str, Any], req: LiveRequest):
        from google.auth.transport.requests import Request

        self.account, self.record = account, record
        self.request = Request(_session())
        scopes = [CONTACTS, *([OTHER_CONTACTS] if req.other_contacts else [])]
        if record.get("kind") == "service_account":
            from google.oauth2 import service_account

            if not req.as_user:
                raise LiveSourceFailed(account.target, "a service account reads a user's "
                                       "contacts as that user", hint="add --as user@domain")
            self.creds: Any = service_account.Credentials.from_service_account_info(
                {**record["key"], "token_uri": google_token_url()}, scopes=scopes,
                subject=req.as_user)
        else:
            from google.oauth2.credentials import Credentials

            if req.as_user:
                raise LiveSourceFailed(account.target, "--as is for a service account; this "
                                       "account signed in as a user")
            if req.other_contacts and OTHER_CONTACTS not in record.get("scopes", []):
                raise LiveSourceFailed(account.target, "the account was connected without "
                                       "access to other contacts",
                                       hint="run `crm-import connect google --other-contacts "
                                            f"--account {account.name}`")
            kept = record["credentials"]
            expiry = kept.get("expiry")
            # (from_authorized_user_info would put Google's own token endpoint back)
            self.creds = Credentials(
                token=kept.get("token"), refresh_token=kept["refresh_token"],
                token_uri=google_token_url(), client_id=kept["client_id"],
                client_secret=kept.get("client_secret"), scopes=kept.get("scopes"),
                expiry=datetime.strptime(expiry.rstrip("Z").split(".")[0],
                                         "%Y-%m-%dT%H:%M:%S") if expiry else None)

    def __call__(self, refresh: bool) -> str:
        if refresh or not self.creds.valid:
            from google.auth.exceptions import RefreshError, TransportError

            try:
                self.creds.refresh(self.request)
            except RefreshError:
                raise LiveSourceFailed(
                    self.account.target, "Google refused the stored credentials (revoked, "
                    "expired or not allowed for this user)",
                    hint=f"run `crm-import connect google --account {self.account.name}` "
                         "again") from None
            except TransportError as exc:
                raise LiveSourceFailed(self.account.target, "cannot reach Google's token "
                                       f"endpoint ({type(exc).__name__})") from None
            if self.record.get("kind") == "user":
                accounts.update(self.account, credentials=json.loads(self.creds.to_json()))
        return str(self.creds.token)


def _pull_folder(api: Api, folder: str, state: str | None) -> tuple[list[dict], str | None]:
    path, key, mask, fields = FOLDERS[folder]
    params: dict[str, Any] = {mask: fields, "pageSize": PAGE_SIZE, "requestSyncToken": "true"}
    if state:
        params["syncToken"] = state
    records: list[dict] = []
    while True:
        page = api.get(google_api_url() + path, params)
        records.extend(page.get(key) or [])
        if not page.get("nextPageToken"):
            return records, page.get("nextSyncToken")
        params["pageToken"] = page["nextPageToken"]


def pull(req: LiveRequest, states: dict[str, str]) -> Pulled:
    account = accounts.Account("google", req.account)
    api = Api(account.target, _Token(account, accounts.load(account), req))
    folders = ["connections", *(["otherContacts"] if req.other_contacts else [])]
    out = Pulled([], mode="incremental" if all(states.get(f) for f in folders) else "full")
    try:
        for folder in folders:
            try:
                records, token = _pull_folder(api, folder, states.get(folder))
            except ApiError as exc:
                if exc.reason != "EXPIRED_SYNC_TOKEN":
                    raise
                out.mode = "full"
                out.warnings.append(expired_warning(account.target, folder))
                records, token = _pull_folder(api, folder, None)
            out.states[folder] = token
            out.take(records, lambda r: str(r.get("resourceName"))
                     if (r.get("metadata") or {}).get("deleted") else None)
    finally:
        out.retries = api.retries
        api.close()
    return out
