"""Commands of live sources: connect (google, microsoft), accounts, disconnect. Importing
from an account is `crm-import run google:NAME` (flows.cli.imports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contracts.errors import CrmImportError
from flows.cli.common import DbOpt, JsonOpt, _db, _emit, app, command, existing_file

connect_app = typer.Typer(help="Sign in to a Google or Microsoft account to import from.",
                          no_args_is_help=True, rich_markup_mode=None)
app.add_typer(connect_app, name="connect")

AccountOpt = Annotated[str | None, typer.Option("--account", help="a name for the account "
                                                "(default: default); runs name it as "
                                                "google:NAME / microsoft:NAME")]


def _said(result: dict, as_json: bool, text: str) -> None:
    if as_json:
        _emit(result)
    else:
        typer.echo(text)


@command(connect_app, "google")
def connect_google(
    client_secrets: Annotated[Path | None, typer.Option(
        "--client-secrets", callback=existing_file,
        help="the OAuth client's JSON (a Desktop app client from the Google Cloud console; "
             "default: client_secret.json in the config directory)")] = None,
    account: AccountOpt = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="print the sign-in URL on "
                                             "stderr instead of opening a browser")] = False,
    other_contacts: Annotated[bool, typer.Option("--other-contacts", help="also ask to read "
                                                 "the \"other contacts\" Gmail collected")
                              ] = False,
    service_account: Annotated[Path | None, typer.Option(
        "--service-account", callback=existing_file,
        help="a Workspace service account's key (JSON) with domain-wide delegation: runs "
             "read a user's contacts with --as user@domain")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Connect a Google account (Gmail / Google Contacts).

    Signs in in the browser (OAuth for installed apps: a redirect to 127.0.0.1, PKCE), or
    keeps a service account's key. The tokens go to the token store in the config
    directory ($CRM_IMPORT_CONFIG_DIR, default ~/.config/crm-import), readable by you only.
    """
    from flows.live import accounts, google

    name = accounts.account_name("google", account)
    if service_account is not None:
        result = google.connect_service_account(name, service_account)
        _said(result, as_json, f"{name.target}: service account {result['client_email']} kept; "
                               f"run `crm-import run {name.target} --as user@domain`")
        return
    result = google.connect_user(name, client_secrets=client_secrets, no_browser=no_browser,
                                 other_contacts=other_contacts)
    _said(result, as_json, f"{name.target}: connected; run `crm-import run {name.target}`")


@command(connect_app, "microsoft")
def connect_microsoft(
    client_id: Annotated[str, typer.Option("--client-id", help="the application (client) id "
                                           "of the app registered in Entra ID")],
    tenant: Annotated[str, typer.Option("--tenant", help="the directory (tenant) id or domain; "
                                        "organizations / common / consumers for any")] =
    "organizations",
    account: AccountOpt = None,
    client_secret: Annotated[str | None, typer.Option(
        "--client-secret", envvar="CRM_IMPORT_MICROSOFT_CLIENT_SECRET", show_default=False,
        help="app-only access (client credentials, for --user across mailboxes): the app's "
             "client secret; - reads it from stdin (a command line is seen by others on the "
             "machine; the environment variable is the safer way)")] = None,
    certificate: Annotated[Path | None, typer.Option(
        "--certificate", callback=existing_file,
        help="app-only access with a certificate: its PEM file (private key and certificate)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Connect a Microsoft 365 / Outlook.com account.

    Signs in with the device code flow: open the URL it prints, type the code. With
    --client-secret or --certificate the app reads mailboxes as itself (application
    permission Contacts.Read), and runs name one with --user.
    """
    from flows.live import accounts, microsoft

    name = accounts.account_name("microsoft", account)
    if client_secret or certificate:
        if client_secret == "-":
            client_secret = typer.get_text_stream("stdin").readline().strip()
        result = microsoft.connect_app(name, client_id=client_id, tenant=tenant,
                                       secret=client_secret, certificate=certificate)
        _said(result, as_json, f"{name.target}: app-only access kept; run `crm-import run "
                               f"{name.target} --user ID`")
        return
    result = microsoft.connect_device(name, client_id=client_id, tenant=tenant)
    _said(result, as_json, f"{name.target}: connected; run `crm-import run {name.target}`")


@command(app)
def accounts(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the connected accounts and their last sync (no tokens)."""
    from flows.config import open_crm
    from flows.live import accounts as store
    from flows.live.sync import last_syncs
    from transforms.store.urls import is_postgres

    listed = store.connected()
    synced: dict = {}
    target = _db(db)
    try:
        if is_postgres(target) or Path(target).is_file():  # (listing makes no CRM)
            with open_crm(target, wait=False) as crm:
                synced = last_syncs(crm)
    except CrmImportError:  # busy, or unreachable: the accounts are still worth listing
        pass
    for a in listed:
        a["last_sync"] = synced.get(a["account"])
    if as_json:
        _emit({"accounts": listed})
        return
    if not listed:
        typer.echo("no accounts connected — `crm-import connect google` or "
                   "`crm-import connect microsoft --client-id ID`")
    for a in listed:
        last = a["last_sync"]
        typer.echo(f"{a['account']:<40} {a['kind']:<16} connected {a['connected_at']}, "
                   + (f"last sync {last['synced_at']} (run {last['run_id']})" if last
                      else "never synced"))


@command(app)
def disconnect(
    target: Annotated[str, typer.Argument(help="the account: google:NAME or microsoft:NAME")],
    as_json: JsonOpt = False,
) -> None:
    """Forget an account's tokens (the CRM keeps what it imported)."""
    from flows.live import accounts

    account = accounts.parse_target(target)
    if account is None:
        raise CrmImportError(f"{target}: not an account — give google:NAME or microsoft:NAME "
                             "(`crm-import accounts` lists them)")
    removed = accounts.remove(account)
    if not removed:
        raise CrmImportError(f"{account.target}: not connected (`crm-import accounts` lists "
                             "the connected accounts)")
    _said({"account": account.target, "disconnected": True}, as_json,
          f"{account.target}: tokens removed; revoke the access in the account too "
          "(Google: Security → Third-party access; Microsoft: My Apps) to be sure")
