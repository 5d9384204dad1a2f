"""Live sources (issue 19): Google Contacts and Microsoft 365 contacts pulled from the
account, against fakes of both services on 127.0.0.1 (tests/fakeservices.py)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.live import LiveRequest
from flows.pipeline import ImportRequest, import_file
from tests.conftest import REPO, table, table_hashes
from tests.fakeservices import FakeServices, contact, person

CLI = [str(Path(sys.executable).parent / "crm-import")]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    services = FakeServices(tmp_path)
    for key, value in services.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CRM_IMPORT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    yield services
    services.close()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits of in-process pulls, counted instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr("flows.live.http._wait", waited.append)
    return waited


def cli(*args: str, check: bool = True, env: dict | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def connect_google(fake: FakeServices, tmp_path: Path, *extra: str, account: str = "ola",
                   forge_state: bool = False) -> tuple[subprocess.CompletedProcess, str]:
    """`connect google --no-browser`, the browser's part played here: open the URL printed
    on stderr, follow the fake's redirect to the loopback address."""
    argv = [*CLI, "connect", "google", "--client-secrets", str(fake.google_client(tmp_path)),
            "--no-browser", "--account", account, "--json", *extra]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    assert proc.stderr is not None
    url = proc.stderr.readline().strip()
    answer = httpx.get(url, verify=str(fake.ca_file))
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    if forge_state:  # a redirect this sign-in did not ask for
        back = back.replace("state=", "state=forged")
    httpx.get(back, timeout=30)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), url


def connect_microsoft(fake: FakeServices, account: str = "adele") -> subprocess.CompletedProcess:
    client_id, _ = fake.ms_client()
    return cli("connect", "microsoft", "--client-id", client_id, "--account", account, "--json")


def pull(db: Path | str, provider: str, account: str, *, dry_run: bool = False,
         **options) -> dict:
    live = LiveRequest(provider, account, **options)
    return import_file(ImportRequest(file=live.target, db=str(db), source=provider, live=live,
                                     dry_run=dry_run))


def people(fake: FakeServices, n: int, subject: str = "me", start: int = 1) -> None:
    book = fake.book("people", subject)
    for i in range(start, start + n):
        book.put(f"people/c{i}", person(i, company=f"Firma {i % 40} AS" if i % 3 else None,
                                        phone=f"+47 9{i:07d}" if i % 2 else None))


def states(db: Path | str) -> list[tuple]:
    return table(db, "SELECT account, folder, state FROM live_sync ORDER BY 1, 2").rows()


# --- signing in ---------------------------------------------------------------------------

def test_connect_google_signs_in_with_pkce_and_keeps_the_token_private(fake, tmp_path):
    done, url = connect_google(fake, tmp_path)
    assert done.returncode == 0, done.stderr
    assert url.startswith(os.environ["CRM_IMPORT_GOOGLE_AUTH_URL"] + "?")
    assert "code_challenge_method=S256" in url and "state=" in url and "127.0.0.1" in url
    assert json.loads(done.stdout) == {
        "account": "google:ola", "kind": "user",
        "scopes": ["https://www.googleapis.com/auth/contacts.readonly"]}
    token_file = tmp_path / "config" / "accounts" / "google" / "ola.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    refresh = json.loads(token_file.read_text())["credentials"]["refresh_token"]
    assert refresh in fake.refresh_tokens
    listed = cli("accounts", "--db", str(tmp_path / "crm.duckdb"), "--json").stdout
    assert json.loads(listed)["accounts"][0]["account"] == "google:ola"
    assert refresh not in listed and refresh not in done.stdout + done.stderr


def test_a_redirect_with_another_state_is_refused(fake, tmp_path):
    done, _ = connect_google(fake, tmp_path, forge_state=True)
    assert done.returncode == 2
    said = json.loads(done.stdout)  # (--json: the error as one object)
    assert said["status"] == "failed"
    assert said["errors"][0].startswith("google:ola: signing in failed (MismatchingStateError"), said
    assert not (tmp_path / "config" / "accounts" / "google" / "ola.json").exists()


# --- the pull -------------------------------------------------------------------------------

@pytest.mark.both_stores
def test_ten_thousand_contacts_then_what_changed(fake, tmp_path, db, waits):
    people(fake, 10_000)
    assert connect_google(fake, tmp_path)[0].returncode == 0
    first = pull(db, "google", "ola")
    assert first["status"] == "completed", first["errors"]
    assert first["sync"] == {"mode": "full", "pulled": 10_000, "deleted": 0}
    assert first["rows"]["read"] == 10_000 and first["person"]["new"] == 10_000
    assert fake.hits["/people/v1/people/me/connections"] == 10  # 1000 a page
    assert first["file"] == "google:ola" and first["source"] == "google"
    (state,) = states(db)
    assert state[:2] == ("google:ola", "connections") and state[2].startswith("sync-")
    raw = table(db, "SELECT count(*) FROM staging.raw_rows WHERE run_id = ?", [first["run_id"]])
    assert raw.item() == 10_000
    kept = table(db, "SELECT count(DISTINCT json_extract_string(record, '$.resourceName')) "
                     "FROM staging.raw_rows WHERE run_id = ?", [first["run_id"]])
    assert kept.item() == 10_000  # the API's records, as they came

    before = table_hashes(db)
    nothing = pull(db, "google", "ola")
    assert nothing["status"] == "completed"
    assert nothing["sync"] == {"mode": "incremental", "pulled": 0, "deleted": 0}
    assert table_hashes(db) == before

    book = fake.book("people", "me")
    changed = person(5, company="Firma 5 AS", phone="+47 99999999")
    changed["names"][0]["familyName"] = "Nordmann5"
    changed["biographies"] = [{"value": "Ringer på fredager"}]
    book.put("people/c5", changed)
    book.delete("people/c8")
    book.put("people/c20001", person(20001, company="Ny Kunde AS"))
    ids = table(db, "SELECT person_id FROM person WHERE last_name = 'Nordmann8'").item()
    later = pull(db, "google", "ola")
    assert later["sync"] == {"mode": "incremental", "pulled": 2, "deleted": 1}
    assert (later["person"]["new"], later["person"]["updated"]) == (1, 1), later["person"]
    (gone,) = [w for w in later["warnings"] if w["code"] == "contact_deleted"]
    assert gone["message"].endswith(f"the CRM keeps what was imported of them: person {ids}")
    assert table(db, "SELECT count(*) FROM person WHERE last_name = 'Nordmann8'").item() == 1
    assert waits == []


@pytest.mark.both_stores
def test_an_undone_sync_is_pulled_whole_again(fake, tmp_path, db, waits):
    """Undoing a live run takes its contacts out of the CRM; the account's sync state,
    which says they are in, goes too, so the next run brings them back."""
    from flows.config import open_crm
    from transforms.undo import undo_run

    people(fake, 30)
    connect_google(fake, tmp_path)
    first = pull(db, "google", "ola")
    fake.book("people", "me").put("people/c31", person(31))
    second = pull(db, "google", "ola")
    assert second["sync"]["mode"] == "incremental" and second["person"]["new"] == 1
    with open_crm(str(db)) as store:
        assert undo_run(store, first["run_id"], force=True).status == "undone"
    assert states(db) == [] and table(db, "SELECT count(*) FROM person").item() == 1
    again = pull(db, "google", "ola")
    assert again["sync"] == {"mode": "full", "pulled": 31, "deleted": 0}
    assert again["person"]["new"] == 30 and again["person"]["unchanged"] == 1


def test_the_same_account_pulled_whole_twice_changes_nothing(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    people(fake, 300)
    connect_google(fake, tmp_path)
    assert pull(db, "google", "ola")["status"] == "completed"
    before = table_hashes(db)
    fake.expire_sync_tokens()  # (a week later: the next run pulls everything again)
    again = pull(db, "google", "ola")
    assert again["sync"] == {"mode": "full", "pulled": 300, "deleted": 0}
    assert [w["code"] for w in again["warnings"]] == ["sync_expired"]
    assert again["person"]["new"] == again["person"]["updated"] == 0
    assert again["company"]["new"] == again["company"]["updated"] == 0
    assert table_hashes(db) == before


def test_busy_and_failing_pages_are_retried(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    people(fake, 2500)
    connect_google(fake, tmp_path)
    fake.fail("connections", 429, retry_after="7", after_pages=1)
    fake.fail("connections", 500, times=2)
    done = pull(db, "google", "ola")
    assert done["status"] == "completed" and done["sync"]["pulled"] == 2500
    assert waits[0] == 500 or 7.0 in waits  # the 429's Retry-After, honoured
    assert 7.0 in waits and len(waits) == 3
    assert fake.hits["/people/v1/people/me/connections"] == 3 + 3


def test_a_page_that_keeps_failing_fails_the_run_and_changes_nothing(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    people(fake, 1500)
    connect_google(fake, tmp_path)
    assert pull(db, "google", "ola")["status"] == "completed"
    before, state = table_hashes(db), states(db)
    fake.book("people", "me").put("people/c1", person(1, company="Endret AS"))
    fake.fail("connections", 503, retry_after="900")  # longer than a run waits in all
    failed = pull(db, "google", "ola")
    assert failed["status"] == "failed"
    (error,) = failed["errors"]
    assert error.startswith("google:ola: the service still answers 503"), error
    assert "nothing was imported" in error
    assert table_hashes(db) == before and states(db) == state
    assert pull(db, "google", "ola")["sync"] == {"mode": "incremental", "pulled": 1,
                                                 "deleted": 0}


def test_an_expired_access_token_is_refreshed_once_and_a_revoked_one_says_connect(
        fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    people(fake, 50)
    connect_google(fake, tmp_path)
    token_file = tmp_path / "config" / "accounts" / "google" / "ola.json"
    kept = json.loads(token_file.read_text())["credentials"]["token"]
    fake.expire_access_tokens()  # the stored one still looks valid to the client: a 401
    assert pull(db, "google", "ola")["status"] == "completed"
    assert json.loads(token_file.read_text())["credentials"]["token"] != kept  # kept anew
    before = table_hashes(db)
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    failed = pull(db, "google", "ola")
    assert failed["status"] == "failed"
    assert failed["errors"] == ["google:ola: Google refused the stored credentials (revoked, "
                                "expired or not allowed for this user) — run `crm-import "
                                "connect google --account ola` again"]
    assert table_hashes(db) == before


def test_a_dry_run_never_advances_the_sync_state(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    people(fake, 20)
    connect_google(fake, tmp_path)
    preview = pull(db, "google", "ola", dry_run=True)
    assert preview["status"] == "preview" and preview["person"]["new"] == 20
    assert states(db) == [] and table(db, "SELECT count(*) FROM person").item() == 0
    done = pull(db, "google", "ola")
    assert done["sync"]["mode"] == "full" and done["person"]["new"] == 20


def test_a_killed_pull_leaves_the_crm_and_the_sync_state_as_they_were(fake, tmp_path):
    db = tmp_path / "crm.duckdb"
    people(fake, 3000)
    connect_google(fake, tmp_path)
    cli("run", "google:ola", "--db", str(db), "--json")
    before, state = table_hashes(db), states(db)
    people(fake, 3000, start=5001)  # 3 pages of changes; the third is answered slowly
    fake.fail("connections", 429, retry_after="60", after_pages=2)
    proc = subprocess.Popen([*CLI, "run", "google:ola", "--db", str(db), "--json"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while fake.hits["/people/v1/people/me/connections"] < 3 + 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be killed"
    time.sleep(0.3)  # (waiting out the Retry-After: two pages of changes pulled, none applied)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert table_hashes(db) == before and states(db) == state
    fake.faults.clear()
    s = json.loads(cli("run", "google:ola", "--db", str(db), "--json").stdout)
    assert s["status"] == "completed"
    assert s["sync"] == {"mode": "incremental", "pulled": 3000, "deleted": 0}


def test_a_service_account_reads_a_users_contacts_as_that_user(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    people(fake, 12, subject="anna@corp.example")
    people(fake, 5, subject="me")
    key = fake.service_account(tmp_path)
    said = json.loads(cli("connect", "google", "--service-account", str(key), "--account",
                          "corp", "--json").stdout)
    assert said == {"account": "google:corp", "kind": "service_account",
                    "client_email": "importer@crm-test.iam.gserviceaccount.com"}
    done = pull(db, "google", "corp", as_user="anna@corp.example")
    assert done["status"] == "completed" and done["sync"]["pulled"] == 12
    assert states(db)[0][:2] == ("google:corp/anna@corp.example", "connections")
    refused = pull(db, "google", "corp")
    assert refused["errors"] == ["google:corp: a service account reads a user's contacts as "
                                 "that user — add --as user@domain"]


def test_other_contacts_come_with_their_own_scope(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    people(fake, 4)
    other = fake.book("other", "me")
    other.put("otherContacts/c1", {"resourceName": "otherContacts/c1",
                                   "names": [{"displayName": "Per Hansen", "givenName": "Per",
                                              "familyName": "Hansen"}],
                                   "emailAddresses": [{"value": "per@hansen.example"}]})
    connect_google(fake, tmp_path)
    refused = pull(db, "google", "ola", other_contacts=True)
    assert "connected without access to other contacts" in refused["errors"][0]
    done, url = connect_google(fake, tmp_path, "--other-contacts")
    assert "contacts.other.readonly" in url
    both = pull(db, "google", "ola", other_contacts=True)
    assert both["sync"]["pulled"] == 5 and both["person"]["new"] == 5
    assert {f for _, f, _ in states(db)} == {"connections", "otherContacts"}
    assert table(db, "SELECT address FROM email WHERE address = 'per@hansen.example'").height == 1


def test_no_secret_reaches_a_log_a_run_record_or_staging(fake, tmp_path):
    db = tmp_path / "crm.duckdb"
    people(fake, 30)
    done, _ = connect_google(fake, tmp_path)
    fake.expire_access_tokens()  # (a refresh happens too)
    ran = cli("-v", "run", "google:ola", "--db", str(db), "--json")
    listed = cli("accounts", "--db", str(db), "--json")
    shown = cli("show", json.loads(ran.stdout)["run_id"], "--db", str(db), "--json")
    secrets = [*fake.refresh_tokens, *fake.access_tokens, *fake.google_clients.values()]
    assert len(secrets) >= 4
    said = done.stdout + done.stderr + ran.stdout + ran.stderr + listed.stdout + shown.stdout
    assert "pulled from the google account" in ran.stderr  # (the INFO log was on)
    assert "people.googleapis" not in ran.stderr and "/people/v1/" not in ran.stderr
    stored = "\n".join(
        repr(table(db, f"SELECT * FROM {t}").rows())
        for t in ("import_run", "live_sync", "staging.raw_rows", "staging.canonical",
                  "staging.warnings", "staging.plan", "change_log"))
    for secret in secrets:
        assert secret not in said and secret not in stored
    assert all(secret.encode() not in db.read_bytes() for secret in secrets)


# --- Microsoft ------------------------------------------------------------------------------

def mailbox(fake: FakeServices, n: int, user: str = "adele", start: int = 1) -> None:
    book = fake.book("mail", user)
    for i in range(start, start + n):
        book.put(f"AAMkAD{i:06d}", contact(i, company=f"Contoso {i % 25}" if i % 2 else None,
                                           mobile=f"+1 425 555 {i % 10000:04d}"))


def test_device_code_sign_in_polls_at_the_interval(fake, tmp_path):
    done = connect_microsoft(fake)
    assert json.loads(done.stdout) == {"account": "microsoft:adele", "kind": "user",
                                       "scopes": ["Contacts.Read"],
                                       "user": "adele@contoso.example"}
    assert "enter the code" in done.stderr and "https://microsoft.com/devicelogin" in done.stderr
    assert len(fake.polls) == 3  # twice authorization_pending, then the tokens
    gaps = [b - a for a, b in zip(fake.polls, fake.polls[1:], strict=False)]
    assert all(g >= 0.9 for g in gaps), gaps  # `interval` is 1 s
    token_file = tmp_path / "config" / "accounts" / "microsoft" / "adele.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


@pytest.mark.both_stores
def test_graph_delta_full_then_changes_removals_and_an_expired_state(fake, tmp_path, db, waits):
    mailbox(fake, 2500)
    connect_microsoft(fake)
    first = pull(db, "microsoft", "adele")
    assert first["sync"] == {"mode": "full", "pulled": 2500, "deleted": 0}
    assert first["person"]["new"] == 2500 and first["source"] == "microsoft"
    assert fake.hits["/graph/v1.0/me/contacts/delta"] == 3  # 1000 a page
    book = fake.book("mail", "adele")
    moved = contact(3, company="Contoso 3", mobile="+1 425 555 0003")
    moved["businessAddress"] = {"street": "1 Microsoft Way", "city": "Redmond",
                                "postalCode": "98052", "countryOrRegion": "United States"}
    book.put("AAMkAD000003", moved)
    book.delete("AAMkAD000004")
    fake.fail("graph", 429, retry_after="3")
    fake.expire_access_tokens()
    later = pull(db, "microsoft", "adele")
    assert later["sync"] == {"mode": "incremental", "pulled": 1, "deleted": 1}
    assert later["company"]["updated"] == 1, later["company"]
    assert waits == [3.0]
    assert [w["code"] for w in later["warnings"]] == ["contact_deleted"]
    assert table(db, "SELECT city FROM company WHERE name = 'Contoso 3'").item() == "Redmond"
    before = table_hashes(db)
    fake.expire_sync_tokens()
    again = pull(db, "microsoft", "adele")
    assert again["sync"] == {"mode": "full", "pulled": 2499, "deleted": 0}
    assert [w["code"] for w in again["warnings"]] == ["sync_expired"]
    assert table_hashes(db) == before


def test_a_revoked_microsoft_sign_in_says_connect_again(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    mailbox(fake, 5)
    connect_microsoft(fake)
    assert pull(db, "microsoft", "adele")["status"] == "completed"
    before, state = table_hashes(db), states(db)
    fake.book("mail", "adele").put("AAMkAD000001", contact(1, company="Changed"))
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    failed = pull(db, "microsoft", "adele")
    assert failed["errors"] == ["microsoft:adele: Microsoft refused the stored sign-in (revoked "
                                "or expired) — run `crm-import connect microsoft --account "
                                "adele` again"]
    assert table_hashes(db) == before and states(db) == state


def test_app_only_access_reads_the_mailbox_it_is_told(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    mailbox(fake, 7, user="bob@contoso.example")
    client_id, _ = fake.ms_client(secret="s3cret-value")
    wrong = cli("connect", "microsoft", "--client-id", client_id, "--tenant", "contoso",
                "--account", "app", env={"CRM_IMPORT_MICROSOFT_CLIENT_SECRET": "nope"},
                check=False)
    assert wrong.returncode == 2 and "Microsoft refused the app's credential" in wrong.stderr
    assert not (tmp_path / "config" / "accounts" / "microsoft" / "app.json").exists()
    cli("connect", "microsoft", "--client-id", client_id, "--tenant", "contoso", "--account",
        "app", env={"CRM_IMPORT_MICROSOFT_CLIENT_SECRET": "s3cret-value"})
    done = pull(db, "microsoft", "app", user="bob@contoso.example")
    assert done["status"] == "completed" and done["sync"]["pulled"] == 7
    assert pull(db, "microsoft", "app")["errors"] == [
        "microsoft:app: an app reads a mailbox it is told — add --user ID (a user id or "
        "user@domain)"]
    cert_id, pem = fake.ms_client(folder=tmp_path)
    assert pem is not None
    cli("connect", "microsoft", "--client-id", cert_id, "--tenant", "contoso", "--account",
        "cert", "--certificate", str(pem))
    assert pull(tmp_path / "crm2.duckdb", "microsoft", "cert",
                user="bob@contoso.example")["sync"]["pulled"] == 7
    assert "s3cret-value" not in (tmp_path / "crm.duckdb").read_bytes().decode("latin-1")


def test_a_folder_without_change_tracking_is_listed_whole_each_time(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    mailbox(fake, 1500)
    fake.graph_delta = False
    connect_microsoft(fake)
    first = pull(db, "microsoft", "adele")
    assert first["sync"] == {"mode": "full", "pulled": 1500, "deleted": 0}
    assert [w["code"] for w in first["warnings"]] == ["no_delta"]
    assert fake.hits["/graph/v1.0/me/contacts"] == 2  # $top=1000, then the nextLink
    before = table_hashes(db)
    again = pull(db, "microsoft", "adele")
    assert again["sync"]["mode"] == "full" and again["person"]["unchanged"] == 1500
    assert table_hashes(db) == before


def test_a_contact_folder_by_name(fake, tmp_path, waits):
    db = tmp_path / "crm.duckdb"
    mailbox(fake, 3)
    book = fake.folder("adele", "Kunder")
    book.put("F1", contact(1, first="Kari", last="Kunde", company="Kunde AS"))
    connect_microsoft(fake)
    done = pull(db, "microsoft", "adele", folder="kunder")
    assert done["sync"]["pulled"] == 1
    assert states(db)[0][:2] == ("microsoft:adele", "kunder")
    missing = pull(db, "microsoft", "adele", folder="Leverandører")
    assert missing["errors"] == ["microsoft:adele: no contact folder named 'Leverandører' — "
                                 "folders: Kunder"]


# --- the command line -------------------------------------------------------------------------

def test_what_the_command_line_refuses(fake, tmp_path):
    db = str(tmp_path / "crm.duckdb")
    file = tmp_path / "a.csv"
    file.write_text("Company\nACME\n")
    said = cli("run", str(file), "--other-contacts", "--db", db, check=False)
    assert said.returncode == 2 and "--other-contacts: for an account" in said.stderr
    said = cli("run", "google:ola", "--db", db, check=False)
    assert said.returncode == 1
    assert "error: google:ola: not connected — run `crm-import connect google --account ola` " \
        "first" in said.stdout  # (a failed run's summary)
    said = cli("run", "google:bad name", "--db", db, check=False)
    assert said.returncode == 2 and "not an account name" in said.stderr
    said = cli("run", "microsoft:x", "--other-contacts", "--db", db, check=False)
    assert said.returncode == 2 and "do not apply to this account" in said.stderr
    connect_google(fake, tmp_path)
    assert "google:ola" in cli("accounts", "--db", db).stdout
    assert json.loads(cli("disconnect", "google:ola", "--json").stdout)["disconnected"]
    assert cli("disconnect", "google:ola", check=False).returncode == 2
    assert json.loads(cli("accounts", "--json", "--db", db).stdout) == {"accounts": []}


# --- Prefect --------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_served_sync_deployment_pulls_the_account_and_keeps_its_tokens_home(
        fake, tmp_path, prefect_server):
    """`serve --google NAME --sync-cron …`: the deployment's parameters name the account;
    its run pulls with the tokens of this machine's store, which reach no parameter, log or
    artifact on the Prefect server."""
    db = tmp_path / "crm.duckdb"
    people(fake, 40)
    connect_google(fake, tmp_path)
    env = prefect_server.env()
    served = subprocess.Popen([*CLI, "serve", "--folder", str(tmp_path / "drop"), "--db",
                               str(db), "--google", "ola", "--sync-cron", "0 0 1 1 *"],
                              env=env, cwd=REPO, stdout=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = prefect_server.post("/deployments/filter", {})
            if any(d["name"] == "sync-google-ola" for d in found):
                break
            time.sleep(1)
        (deployment,) = [d for d in found if d["name"] == "sync-google-ola"]
        assert deployment["parameters"]["provider"] == "google"
        assert deployment["parameters"]["account"] == "ola"
        assert deployment["schedules"][0]["schedule"]["cron"] == "0 0 1 1 *"
        ran = subprocess.run([str(Path(sys.executable).parent / "prefect"), "deployment",
                              "run", "sync-contacts/sync-google-ola"], env=env,
                             capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            runs = prefect_server.post("/flow_runs/filter", {  # (the server is the session's)
                "deployments": {"id": {"any_": [deployment["id"]]}},
                "flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}}})
            if runs:
                break
            time.sleep(1)
        (run,) = runs
        assert run["state"]["type"] == "COMPLETED", run["state"]
        assert table(db, "SELECT count(*) FROM person").item() == 40
        assert states(db)[0][:2] == ("google:ola", "connections")
        artifacts = prefect_server.post("/artifacts/filter", {
            "flow_runs": {"id": {"any_": [run["id"]]}}})
        logs = prefect_server.post("/logs/filter", {"logs": {"flow_run_id": {
            "any_": [run["id"]]}}})
        on_server = json.dumps([run["parameters"], deployment, artifacts, logs])
        assert "pulled (full): 40" in on_server  # (the summary artifact says what came)
        secrets = [*fake.refresh_tokens, *fake.access_tokens, *fake.google_clients.values()]
        assert all(secret not in on_server for secret in secrets)
    finally:
        served.terminate()
        served.wait(timeout=30)
        # the session's server is shared: leave it without this serve's deployments, which
        # a later `serve` test would otherwise take for its own
        for d in prefect_server.post("/deployments/filter", {}):
            httpx.delete(f"{prefect_server.api}/deployments/{d['id']}", timeout=10)
