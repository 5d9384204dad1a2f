"""Outlook / Microsoft 365 contacts through Microsoft Graph: signing in (`connect
microsoft`) and the pull.

Signing in is MSAL's: the device code flow for a person
(https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code; MSAL polls
the token endpoint honouring `interval` and `authorization_pending`), or client credentials
for an app that reads many mailboxes (`--user`; application permission Contacts.Read,
https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
MSAL's token cache (refresh token included) is kept in the token store.

The pull is a delta round (https://learn.microsoft.com/en-us/graph/api/contact-delta) over
the default Contacts folder or a named one: the first round returns every contact, each
later round (from the kept @odata.deltaLink) only what changed, deletions as `@removed`.
Pages follow @odata.nextLink, 1000 a page (Prefer: odata.maxpagesize). An expired delta
state answers 410 (resyncRequired / SyncStateNotFound): the folder is pulled whole. Where
a folder offers no delta (404/400), its contacts are listed (`/contacts?$top=1000`,
https://learn.microsoft.com/en-us/graph/api/user-list-contacts), whole on every run.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from contracts.errors import CrmImportError, LiveSourceFailed
from flows.live import LiveRequest, accounts
from flows.live.config import ca_bundle, graph_url, microsoft_authority
from flows.live.http import Api, ApiError
from flows.live.pull import Pulled, expired_warning

SCOPES = ["Contacts.Read"]
PAGE = {"Prefer": "odata.maxpagesize=1000"}
EXPIRED = {"resyncRequired", "SyncStateNotFound", "syncStateNotFound", "SyncStateInvalid"}
NO_DELTA = {400, 404, 405, 501}  # a folder (or a Graph-like service) without contacts/delta
DEFAULT_FOLDER = "contacts"


def _app_options(tenant: str) -> dict[str, Any]:
    import os

    custom = bool(os.environ.get("CRM_IMPORT_MICROSOFT_AUTHORITY"))
    # (a custom authority, a test's or a private cloud's, is not in Microsoft's instance list)
    return {"authority": microsoft_authority(tenant), "verify": ca_bundle(),
            "instance_discovery": False if custom else None, "timeout": 60}


def _public(record: dict[str, Any]):
    import msal

    cache = msal.SerializableTokenCache()
    if record.get("cache"):
        cache.deserialize(record["cache"])
    app = msal.PublicClientApplication(record["client_id"], token_cache=cache,
                                       **_app_options(record["tenant"]))
    return app, cache


def _failed(account: accounts.Account, step: str, exc: Exception) -> LiveSourceFailed:
    return LiveSourceFailed(account.target, f"{step} failed ({type(exc).__name__})",
                            hint="check --tenant and the network; run `crm-import connect "
                                 "microsoft` again")


def connect_device(account: accounts.Account, *, client_id: str, tenant: str) -> dict[str, Any]:
    """The device code flow: the code and URL on stderr; the token cache to the store."""
    record = {"kind": "user", "client_id": client_id, "tenant": tenant, "scopes": SCOPES}
    try:
        app, cache = _public(record)
        flow = app.initiate_device_flow(scopes=SCOPES)
    except (ValueError, OSError) as exc:
        raise _failed(account, "reaching the sign-in service", exc) from None
    if "user_code" not in flow:
        raise LiveSourceFailed(account.target, "the sign-in service refused the device code "
                               f"request ({flow.get('error', 'no code')})",
                               hint="check --client-id, --tenant and that the app allows "
                                    "public client flows (docs/SOURCES.md)")
    print(flow.get("message") or f"Open {flow['verification_uri']} and enter the code "
          f"{flow['user_code']}", file=sys.stderr, flush=True)
    result = app.acquire_token_by_device_flow(flow)  # (polls until signed in or expired)
    if "access_token" not in result:
        raise LiveSourceFailed(account.target, f"signing in failed ({result.get('error')})",
                               hint="run `crm-import connect microsoft` again")
    user = (result.get("id_token_claims") or {}).get("preferred_username")
    accounts.save(account, {**record, "cache": cache.serialize()})
    return {"account": account.target, "kind": "user", "scopes": SCOPES,
            **({"user": user} if user else {})}


def _certificate(path: Path) -> dict[str, str]:
    """MSAL's certificate credential from one PEM file holding the key and the certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = path.read_bytes()
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise CrmImportError(f"{path}: holds no PEM certificate (give one file with the "
                             "private key and the certificate)") from None
    if b"PRIVATE KEY" not in pem:
        raise CrmImportError(f"{path}: holds no private key (give one file with the private "
                             "key and the certificate)")
    return {"private_key": pem.decode(), "thumbprint": hashlib.sha1(
        cert.public_bytes(Encoding.DER)).hexdigest()}


def connect_app(account: accounts.Account, *, client_id: str, tenant: str,
                secret: str | None, certificate: Path | None) -> dict[str, Any]:
    """App-only access: the credential is kept, and tried once now."""
    if tenant in ("organizations", "common", "consumers"):
        raise CrmImportError("app-only access names the tenant: give --tenant with the "
                             "directory id or domain")
    credential: Any = _certificate(certificate) if certificate else secret
    record = {"kind": "app", "client_id": client_id, "tenant": tenant,
              "scopes": [_graph_scope()], "credential": credential}
    _AppToken(account, record)(False)  # a wrong secret is said now, not at the first run
    accounts.save(account, record)
    return {"account": account.target, "kind": "app", "scopes": record["scopes"]}


def _graph_scope() -> str:
    parts = urlsplit(graph_url())
    return f"{parts.scheme}://{parts.netloc}/.default"


class _AppToken:
    def __init__(self, account: accounts.Account, record: dict[str, Any]):
        import msal

        self.account = account
        try:
            self.app = msal.ConfidentialClientApplication(
                record["client_id"], client_credential=record["credential"],
                **_app_options(record["tenant"]))
        except (ValueError, OSError) as exc:
            raise _failed(account, "reaching the sign-in service", exc) from None

    def __call__(self, refresh: bool) -> str:
        result = self.app.acquire_token_for_client(scopes=[_graph_scope()],
                                                   force_refresh=refresh)
        if "access_token" not in result:
            raise LiveSourceFailed(self.account.target, "Microsoft refused the app's "
                                   f"credential ({result.get('error')})",
                                   hint="check the client secret or certificate, and run "
                                        "`crm-import connect microsoft` again")
        return str(result["access_token"])


class _UserToken:
    def __init__(self, account: accounts.Account, record: dict[str, Any]):
        self.account = account
        try:
            self.app, self.cache = _public(record)
        except (ValueError, OSError) as exc:
            raise _failed(account, "reaching the sign-in service", exc) from None

    def __call__(self, refresh: bool) -> str:
        signed_in = self.app.get_accounts()
        result = (self.app.acquire_token_silent(SCOPES, account=signed_in[0],
                                                force_refresh=refresh)
                  if signed_in else None)
        if not result or "access_token" not in result:
            raise LiveSourceFailed(
                self.account.target, "Microsoft refused the stored sign-in (revoked or "
                "expired)" + (f": {result.get('error')}" if result else ""),
                hint=f"run `crm-import connect microsoft --account {self.account.name}` again")
        if self.cache.has_state_changed:
            accounts.update(self.account, cache=self.cache.serialize())
        return str(result["access_token"])


def _base(req: LiveRequest, kind: str) -> str:
    if kind == "app" and not req.user:
        raise LiveSourceFailed(req.target, "an app reads a mailbox it is told",
                               hint="add --user ID (a user id or user@domain)")
    if kind != "app" and req.user:
        raise LiveSourceFailed(req.target, "--user is for app-only access; this account "
                               "signed in as a person")
    return graph_url() + (f"/users/{quote(req.user, safe='@')}" if req.user else "/me")


def _folder_id(api: Api, base: str, name: str) -> str:
    """A contact folder's id by its display name (the folders listed, compared here)."""
    url: str | None = f"{base}/contactFolders"
    seen: list[str] = []
    params: dict[str, Any] | None = {"$top": 100}
    while url:
        page = api.get(url, params)
        params = None  # (a nextLink carries them)
        for folder in page.get("value") or []:
            seen.append(str(folder.get("displayName")))
            if str(folder.get("displayName", "")).casefold() == name.casefold():
                return str(folder["id"])
        url = page.get("@odata.nextLink")
    raise LiveSourceFailed(api.account, f"no contact folder named {name!r}",
                           hint="folders: " + (", ".join(seen[:20]) or "none besides Contacts"))


def _pages(api: Api, start: str, params: dict[str, Any] | None = None
           ) -> tuple[list[dict], str | None]:
    """Every page from `start`, following @odata.nextLink; the deltaLink at the end (if any)."""
    records: list[dict] = []
    url = start
    while True:
        page = api.get(url, params, headers=PAGE)
        params = None  # (a nextLink carries them)
        records.extend(page.get("value") or [])
        if page.get("@odata.nextLink"):
            url = page["@odata.nextLink"]
            continue
        return records, page.get("@odata.deltaLink")


def _whole(api: Api, folder_url: str, out: Pulled, folder: str) -> tuple[list[dict], str | None]:
    """The whole folder: a first delta round (it ends with the link of the next one), or,
    where the folder offers no delta, its contacts listed ($top 1000), every run."""
    try:
        return _pages(api, f"{folder_url}/contacts/delta")
    except ApiError as exc:
        if exc.status not in NO_DELTA:
            raise
    out.warnings.append({"row": None, "column": None, "code": "no_delta",
                         "message": f"{api.account}: {folder} offers no change tracking "
                                    "(contacts/delta); each run pulls it whole"})
    return _pages(api, f"{folder_url}/contacts", {"$top": 1000})


def pull(req: LiveRequest, states: dict[str, str]) -> Pulled:
    account = accounts.Account("microsoft", req.account)
    record = accounts.load(account)
    kind = record.get("kind")
    base = _base(req, str(kind))
    token = _AppToken(account, record) if kind == "app" else _UserToken(account, record)
    api = Api(account.target, token)
    folder = req.folder or DEFAULT_FOLDER
    state = states.get(folder)
    out = Pulled([], mode="incremental" if state else "full")
    try:
        folder_url = (f"{base}/contactFolders/{quote(_folder_id(api, base, req.folder), safe='')}"
                      if req.folder else base)
        try:
            records, link = _pages(api, state) if state else _whole(api, folder_url, out, folder)
        except ApiError as exc:
            if not state or not (exc.status == 410 or exc.reason in EXPIRED):
                raise
            out.mode = "full"
            out.warnings.append(expired_warning(account.target, folder))
            records, link = _whole(api, folder_url, out, folder)
        out.states[folder] = link
        out.take(records, lambda c: str(c.get("id")) if "@removed" in c else None)
    finally:
        out.retries = api.retries
        api.close()
    return out
