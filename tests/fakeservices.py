"""Google and Microsoft, faked on 127.0.0.1 over TLS (a throwaway CA from trustme): what
crm-import's live sources talk to, written from the public API reference.

Google
- OAuth 2.0 for installed apps, loopback redirect, PKCE:
  https://developers.google.com/identity/protocols/oauth2/native-app
  (authorization endpoint → 302 to the redirect URI with code and state; the token
  endpoint checks the code verifier against the S256 challenge; refresh_token grant;
  invalid_grant for a revoked token)
- Service accounts, JWT bearer grant:
  https://developers.google.com/identity/protocols/oauth2/service-account
- people.connections.list: https://developers.google.com/people/api/rest/v1/people.connections/list
  (pageSize ≤ 1000, nextPageToken, requestSyncToken → nextSyncToken on the last page,
  syncToken → only changes, deleted persons with metadata.deleted; an expired sync token is
  400 FAILED_PRECONDITION with ErrorInfo reason EXPIRED_SYNC_TOKEN)
- otherContacts.list: https://developers.google.com/people/api/rest/v1/otherContacts/list

Microsoft
- OpenID discovery, device code flow (authorization_pending until approved, `interval`),
  refresh, client credentials (secret or certificate assertion):
  https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code
  https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
- Graph contacts delta: https://learn.microsoft.com/en-us/graph/api/contact-delta
  (@odata.nextLink pages, @odata.deltaLink at the end, `@removed` for deletions; an expired
  state is 410 Gone with code resyncRequired), contact folders:
  https://learn.microsoft.com/en-us/graph/api/user-list-contactfolders

Faults are queued per API (`fail(api, status, retry_after=…, times=…, after_pages=…)`);
access tokens can be expired (`expire_access_tokens`) to get a 401, refresh tokens
revoked, sync states expired. Every request is counted in `hits`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Fault:
    api: str  # connections | otherContacts | graph | google-token | ms-token
    status: int
    retry_after: str | None = None
    times: int = 1
    after_pages: int = 0  # let this many pages through first


@dataclass
class Book:
    """One mailbox's contacts with a change log: a sync token is a position in it."""
    items: dict[str, dict] = field(default_factory=dict)
    log: list[tuple[int, str]] = field(default_factory=list)  # (version, id)
    deleted: set[str] = field(default_factory=set)
    version: int = 0

    def put(self, key: str, item: dict) -> None:
        self.version += 1
        self.items[key] = item
        self.deleted.discard(key)
        self.log.append((self.version, key))

    def delete(self, key: str) -> None:
        self.version += 1
        self.items.pop(key, None)
        self.deleted.add(key)
        self.log.append((self.version, key))

    def since(self, version: int) -> list[str]:
        changed: dict[str, None] = {}
        for v, key in self.log:
            if v > version:
                changed.pop(key, None)
                changed[key] = None
        return list(changed)


class FakeServices:
    def __init__(self, folder: Path):
        import trustme

        ca = trustme.CA()
        self.ca_file = folder / "fake-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.lock = threading.RLock()
        # Google
        self.google_clients: dict[str, str] = {}  # client_id → secret
        self.codes: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}  # token → {client_id, scopes, subject}
        self.access_tokens: dict[str, dict] = {}  # token → {subject, expires}
        self.service_keys: dict[str, Any] = {}  # client_email → public key
        self.people: dict[str, Book] = {}  # subject → connections
        self.other: dict[str, Book] = {}  # subject → otherContacts
        self.expired_before = 0  # sync tokens at or below this version are expired
        # Microsoft
        self.ms_clients: dict[str, dict] = {}  # client_id → {secret, thumbprint, public}
        self.device_codes: dict[str, dict] = {}
        self.approve_after = 2  # polls answered authorization_pending before approval
        self.mailboxes: dict[str, Book] = {}  # user → default folder
        self.folders: dict[str, dict[str, tuple[str, Book]]] = {}  # user → id → (name, book)
        self.delta_expired_before = 0
        self.graph_delta = True  # False: contacts/delta answers 404 (the list still works)
        self.faults: list[Fault] = []
        self.hits: dict[str, int] = {}
        self.polls: list[float] = []  # when the device code token was asked for
        services = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                services.handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                services.handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what the product is told --------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {"CRM_IMPORT_GOOGLE_AUTH_URL": f"{self.url}/google/auth",
                "CRM_IMPORT_GOOGLE_TOKEN_URL": f"{self.url}/google/token",
                "CRM_IMPORT_GOOGLE_API_URL": f"{self.url}/people",
                "CRM_IMPORT_MICROSOFT_AUTHORITY": f"{self.url}/contoso",
                "CRM_IMPORT_GRAPH_URL": f"{self.url}/graph/v1.0",
                "SSL_CERT_FILE": str(self.ca_file), "REQUESTS_CA_BUNDLE": str(self.ca_file)}

    def google_client(self, folder: Path) -> Path:
        client_id, secret = f"{secrets.token_hex(6)}.apps.googleusercontent.com", "GOCSPX-x"
        self.google_clients[client_id] = secret
        path = folder / "client_secret.json"
        path.write_text(json.dumps({"installed": {
            "client_id": client_id, "client_secret": secret, "project_id": "crm-import-test",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "redirect_uris": ["http://localhost"]}}))
        return path

    def service_account(self, folder: Path) -> Path:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        email = "importer@crm-test.iam.gserviceaccount.com"
        self.service_keys[email] = key.public_key()
        path = folder / "service-account.json"
        path.write_text(json.dumps({
            "type": "service_account", "project_id": "crm-test", "private_key_id": "k1",
            "private_key": key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
            "client_email": email, "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}))
        return path

    def fail(self, api: str, status: int, *, retry_after: str | None = None, times: int = 1,
             after_pages: int = 0) -> None:
        self.faults.append(Fault(api, status, retry_after, times, after_pages))

    def expire_access_tokens(self) -> None:
        with self.lock:
            for info in self.access_tokens.values():
                info["expires"] = 0

    def revoke_refresh_tokens(self) -> None:
        self.refresh_tokens.clear()

    def expire_sync_tokens(self, *, google: bool = True, microsoft: bool = True) -> None:
        with self.lock:
            if google:
                self.expired_before = max((b.version for b in [*self.people.values(),
                                                               *self.other.values()]),
                                          default=0)
            if microsoft:
                self.delta_expired_before = max((b.version for b in [
                    *self.mailboxes.values(),
                    *(book for f in self.folders.values() for _, book in f.values())]),
                    default=0)

    def book(self, kind: str, subject: str) -> Book:
        table = {"people": self.people, "other": self.other, "mail": self.mailboxes}[kind]
        return table.setdefault(subject, Book())

    def folder(self, user: str, name: str) -> Book:
        folders = self.folders.setdefault(user, {})
        for _, (known, book) in folders.items():
            if known == name:
                return book
        book = Book()
        folders[f"AAMk{secrets.token_hex(8)}"] = (name, book)
        return book

    # --- the server ----------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length).decode() if length else ""
        form = {k: v[-1] for k, v in parse_qs(body).items()}
        path = parts.path
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
        try:
            status, payload, headers = self.route(method, path, query, form, h)
        except Exception as exc:  # a bug in the fake: a 500 the test will see
            status, payload, headers = 500, {"error": {"message": repr(exc)}}, {}
        data = (payload if isinstance(payload, bytes)
                else json.dumps(payload).encode() if payload is not None else b"")
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if not any(k.lower() == "content-type" for k in headers):
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _fault(self, api: str) -> tuple[int, Any, dict] | None:
        with self.lock:
            for fault in self.faults:
                if fault.api != api:
                    continue
                if fault.after_pages > 0:
                    fault.after_pages -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return fault.status, {"error": {"code": fault.status, "status": "UNAVAILABLE"
                                                if fault.status >= 500
                                                else "RESOURCE_EXHAUSTED"}}, headers
        return None

    def _bearer(self, h: BaseHTTPRequestHandler) -> dict | None:
        auth = h.headers.get("Authorization", "")
        info = self.access_tokens.get(auth.removeprefix("Bearer "))
        if info is None or info["expires"] < time.time():
            return None
        return info

    def _issue(self, subject: str, **extra: Any) -> str:
        token = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens[token] = {"subject": subject, "expires": time.time() + 3600, **extra}
        return token

    def route(self, method: str, path: str, query: dict, form: dict,
              h: BaseHTTPRequestHandler) -> tuple[int, Any, dict]:
        if path == "/google/auth":
            return self.google_auth(query)
        if path == "/google/token":
            return self.google_token(form)
        if path.startswith("/people/v1/"):
            return self.people_api(path, query, h)
        if path.startswith("/graph/v1.0/"):
            return self.graph(path.removeprefix("/graph/v1.0"), query, h)
        return self.entra(method, path, form)  # /<tenant>/…

    # Google OAuth ------------------------------------------------------------------------
    def google_auth(self, q: dict) -> tuple[int, Any, dict]:
        if q.get("client_id") not in self.google_clients:
            return 400, {"error": "invalid_client"}, {}
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return 400, {"error": "invalid_request", "error_description": "PKCE required"}, {}
        if not q.get("state") or not q.get("redirect_uri", "").startswith("http://127.0.0.1:"):
            return 400, {"error": "invalid_request"}, {}
        code = "4/" + secrets.token_urlsafe(16)
        self.codes[code] = {"client_id": q["client_id"], "redirect_uri": q["redirect_uri"],
                            "challenge": q["code_challenge"], "scopes": q.get("scope", "")}
        target = q["redirect_uri"] + "?" + urlencode(
            {"state": q["state"], "code": code, "scope": q.get("scope", "")})
        return 302, b"", {"Location": target}

    def google_token(self, f: dict) -> tuple[int, Any, dict]:
        if fault := self._fault("google-token"):
            return fault
        grant = f.get("grant_type")
        if grant == "authorization_code":
            info = self.codes.pop(f.get("code", ""), None)
            if info is None or self.google_clients.get(f.get("client_id", "")) != \
                    f.get("client_secret") or f.get("redirect_uri") != info["redirect_uri"]:
                return 400, {"error": "invalid_grant"}, {}
            verifier = f.get("code_verifier", "")
            if b64url(hashlib.sha256(verifier.encode()).digest()) != info["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE"}, {}
            refresh = "1//" + secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = {"subject": "me", "scopes": info["scopes"]}
            return 200, {"access_token": self._issue("me"), "refresh_token": refresh,
                         "expires_in": 3599, "token_type": "Bearer",
                         "scope": info["scopes"]}, {}
        if grant == "refresh_token":
            info = self.refresh_tokens.get(f.get("refresh_token", ""))
            if info is None:
                return 400, {"error": "invalid_grant",
                             "error_description": "Token has been expired or revoked."}, {}
            return 200, {"access_token": self._issue(info["subject"]), "expires_in": 3599,
                         "token_type": "Bearer", "scope": info["scopes"]}, {}
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            import jwt

            assertion = f.get("assertion", "")
            email = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
            key = self.service_keys.get(email)
            if key is None:
                return 400, {"error": "invalid_grant"}, {}
            try:
                claims = jwt.decode(assertion, key, algorithms=["RS256"],
                                    audience="https://oauth2.googleapis.com/token")  # (always: Google's rule)
            except jwt.PyJWTError:
                return 400, {"error": "invalid_grant", "error_description": "bad JWT"}, {}
            subject = claims.get("sub")
            if not subject:
                return 400, {"error": "unauthorized_client"}, {}
            return 200, {"access_token": self._issue(subject), "expires_in": 3599,
                         "token_type": "Bearer"}, {}
        return 400, {"error": "unsupported_grant_type"}, {}

    # People API --------------------------------------------------------------------------
    def people_api(self, path: str, q: dict, h: BaseHTTPRequestHandler) -> tuple[int, Any, dict]:
        api = {"/people/v1/people/me/connections": "connections",
               "/people/v1/otherContacts": "otherContacts"}.get(path)
        if api is None:
            return 404, {"error": {"code": 404, "status": "NOT_FOUND"}}, {}
        who = self._bearer(h)
        if who is None:
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}, {}
        mask = q.get("personFields" if api == "connections" else "readMask")
        if not mask:
            return 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT"}}, {}
        if fault := self._fault(api):
            return fault
        book = self.book("people" if api == "connections" else "other", who["subject"])
        size = min(int(q.get("pageSize") or 100), 1000)
        sync = q.get("syncToken")
        if sync:
            version = int(sync.removeprefix("sync-"))
            if version <= self.expired_before:
                return 400, {"error": {
                    "code": 400, "status": "FAILED_PRECONDITION",
                    "message": "Sync token is expired. Clear local cache and retry call "
                               "without the sync token.",
                    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                 "reason": "EXPIRED_SYNC_TOKEN",
                                 "domain": "people.googleapis.com"}]}}, {}
            keys = book.since(version)
        else:
            keys = sorted(book.items)
        at = int(q.get("pageToken") or 0)
        now = book.version
        page = keys[at:at + size]
        items = [book.items.get(k, {"resourceName": k, "metadata": {"deleted": True}}) for k in page]
        out: dict[str, Any] = {
            "connections" if api == "connections" else "otherContacts": items,
            "totalItems": len(keys)}
        if at + size < len(keys):
            out["nextPageToken"] = str(at + size)
        elif q.get("requestSyncToken") == "true":
            out["nextSyncToken"] = f"sync-{now}"
        return 200, out, {}

    # Entra ID ----------------------------------------------------------------------------
    def entra(self, method: str, path: str, f: dict) -> tuple[int, Any, dict]:
        parts = path.split("/")  # /<tenant>/...
        tenant, rest = parts[1], "/".join(parts[2:])
        base = f"{self.url}/{tenant}"
        if rest == "v2.0/.well-known/openid-configuration":
            return 200, {"issuer": f"{base}/v2.0",
                         "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                         "token_endpoint": f"{base}/oauth2/v2.0/token",
                         "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                         "jwks_uri": f"{base}/discovery/v2.0/keys"}, {}
        if rest == "oauth2/v2.0/devicecode" and method == "POST":
            if f.get("client_id") not in self.ms_clients:
                return 400, {"error": "unauthorized_client"}, {}
            code, user_code = secrets.token_urlsafe(24), secrets.token_hex(4).upper()
            self.device_codes[code] = {"client_id": f["client_id"], "polls": 0,
                                       "scope": f.get("scope", ""), "user_code": user_code}
            return 200, {"device_code": code, "user_code": user_code,
                         "verification_uri": "https://microsoft.com/devicelogin",
                         "expires_in": 900, "interval": 1,
                         "message": f"To sign in, use a web browser to open the page "
                                    f"https://microsoft.com/devicelogin and enter the code "
                                    f"{user_code} to authenticate."}, {}
        if rest == "oauth2/v2.0/token" and method == "POST":
            return self.entra_token(tenant, base, f)
        return 404, {"error": "not_found"}, {}

    def _ms_tokens(self, tenant: str, base: str, client_id: str, subject: str,
                   scope: str) -> dict:
        now = int(time.time())
        claims = {"iss": f"{base}/v2.0", "sub": subject, "aud": client_id, "iat": now,
                  "nbf": now, "exp": now + 3600, "oid": subject, "tid": tenant,
                  "preferred_username": f"{subject}@contoso.example", "name": subject}
        id_token = ".".join([b64url(b'{"alg":"none","typ":"JWT"}'),
                             b64url(json.dumps(claims).encode()), ""])
        refresh = "M." + secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = {"subject": subject, "scopes": scope,
                                        "client_id": client_id}
        return {"token_type": "Bearer", "scope": "Contacts.Read", "expires_in": 3599,
                "access_token": self._issue(subject), "refresh_token": refresh,
                "id_token": id_token, "client_info": b64url(json.dumps(
                    {"uid": subject, "utid": tenant}).encode())}

    def entra_token(self, tenant: str, base: str, f: dict) -> tuple[int, Any, dict]:
        if fault := self._fault("ms-token"):
            return fault
        grant = f.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            self.polls.append(time.monotonic())
            info = self.device_codes.get(f.get("device_code", ""))
            if info is None:
                return 400, {"error": "expired_token"}, {}
            info["polls"] += 1
            if info["polls"] <= self.approve_after:
                return 400, {"error": "authorization_pending",
                             "error_description": "AADSTS70016: pending"}, {}
            del self.device_codes[f["device_code"]]
            return 200, self._ms_tokens(tenant, base, info["client_id"], "adele",
                                        info["scope"]), {}
        if grant == "refresh_token":
            info = self.refresh_tokens.get(f.get("refresh_token", ""))
            if info is None:
                return 400, {"error": "invalid_grant", "error_description": "AADSTS700082: "
                             "The refresh token has expired"}, {}
            return 200, self._ms_tokens(tenant, base, info["client_id"], info["subject"],
                                        info["scopes"]), {}
        if grant == "client_credentials":
            client = self.ms_clients.get(f.get("client_id", ""))
            if client is None:
                return 400, {"error": "invalid_client"}, {}
            if "client_secret" in f:
                if f["client_secret"] != client.get("secret"):
                    return 401, {"error": "invalid_client",
                                 "error_description": "AADSTS7000215: Invalid client secret"}, {}
            else:
                import jwt

                try:
                    header = jwt.get_unverified_header(f.get("client_assertion", ""))
                    jwt.decode(f.get("client_assertion", ""), client["public"],
                               algorithms=["RS256", "PS256"], audience=f"{base}/oauth2/v2.0/token")
                except (jwt.PyJWTError, KeyError):
                    return 401, {"error": "invalid_client"}, {}
                thumb = header.get("x5t") or header.get("x5t#S256")
                if not thumb:
                    return 401, {"error": "invalid_client"}, {}
            return 200, {"token_type": "Bearer", "expires_in": 3599,
                         "access_token": self._issue("app", app=True)}, {}
        return 400, {"error": "unsupported_grant_type"}, {}

    def ms_client(self, *, secret: str | None = None, folder: Path | None = None) -> tuple[str, Path | None]:
        """A registered app: its client id (and, with `folder`, a certificate PEM file)."""
        client_id = secrets.token_hex(4) + "-0000-4000-8000-" + secrets.token_hex(6)
        record: dict[str, Any] = {"secret": secret}
        pem_path = None
        if folder is not None:
            import datetime

            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import rsa
            from cryptography.x509.oid import NameOID

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crm-import")])
            now = datetime.datetime.now(datetime.UTC)
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                    .public_key(key.public_key()).serial_number(1).not_valid_before(now)
                    .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
            pem_path = folder / "app-cert.pem"
            pem_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption())
                                 + cert.public_bytes(serialization.Encoding.PEM))
            record["public"] = key.public_key()
        self.ms_clients[client_id] = record
        return client_id, pem_path

    # Graph -------------------------------------------------------------------------------
    def graph(self, path: str, q: dict, h: BaseHTTPRequestHandler) -> tuple[int, Any, dict]:
        who = self._bearer(h)
        if who is None:
            return 401, {"error": {"code": "InvalidAuthenticationToken",
                                   "message": "Access token has expired or is not yet valid."}}, {}
        parts = path.strip("/").split("/")
        if parts[0] == "me":
            if who.get("app"):
                return 400, {"error": {"code": "BadRequest", "message": "/me request is only "
                                       "valid with delegated authentication flow."}}, {}
            user, rest = who["subject"], parts[1:]
        elif parts[0] == "users" and len(parts) > 1:
            if not who.get("app") and parts[1] != who["subject"]:
                return 403, {"error": {"code": "ErrorAccessDenied"}}, {}
            user, rest = parts[1], parts[2:]
        else:
            return 404, {"error": {"code": "ResourceNotFound"}}, {}
        if rest == ["contactFolders"]:
            folders = self.folders.get(user, {})
            return 200, {"value": [{"id": i, "displayName": n, "parentFolderId": "root"}
                                   for i, (n, _) in folders.items()]}, {}
        if rest[:1] == ["contacts"]:
            book, tail = self.book("mail", user), rest[1:]
        elif len(rest) >= 3 and rest[0] == "contactFolders" and rest[2] == "contacts":
            found = self.folders.get(user, {}).get(rest[1])
            if found is None:
                return 404, {"error": {"code": "ErrorItemNotFound"}}, {}
            book, tail = found[1], rest[3:]
        else:
            return 404, {"error": {"code": "ResourceNotFound"}}, {}
        if tail not in ([], ["delta"]) or (tail and not self.graph_delta):
            return 404, {"error": {"code": "ResourceNotFound"}}, {}
        if fault := self._fault("graph"):
            return fault
        if not tail:  # the list: $top (default 10), $skip in the nextLink
            size, at = min(int(q.get("$top") or 10), 1000), int(q.get("$skip") or 0)
            keys = sorted(book.items)
            out = {"value": [book.items[k] for k in keys[at:at + size]]}
            if at + size < len(keys):
                out["@odata.nextLink"] = f"{self.url}/graph/v1.0{path}?" + urlencode(
                    {"$top": size, "$skip": at + size})
            return 200, out, {}
        prefer = h.headers.get("Prefer", "")
        size = int(prefer.split("=")[1]) if prefer.startswith("odata.maxpagesize=") else 10
        here = f"{self.url}/graph/v1.0{path}"
        if "$deltatoken" in q:
            version = int(q["$deltatoken"])
            if version <= self.delta_expired_before:
                return 410, {"error": {"code": "resyncRequired",
                                       "message": "Resync required."}}, {}
            keys, at = book.since(version), 0
        elif "$skiptoken" in q:
            start, _, since = q["$skiptoken"].partition(".")
            at = int(start)
            keys = book.since(int(since)) if since else sorted(book.items)
        else:
            keys, at = sorted(book.items), 0
        since = q.get("$deltatoken") or q.get("$skiptoken", "").partition(".")[2]
        page = keys[at:at + size]
        items = [book.items.get(k, {"id": k, "@removed": {"reason": "deleted"}})
                 for k in page]
        out: dict[str, Any] = {"@odata.context": f"{self.url}/graph/v1.0/$metadata#Collection"
                                                 "(contact)", "value": items}
        if at + size < len(keys):
            out["@odata.nextLink"] = here + "?" + urlencode({"$skiptoken": f"{at + size}.{since}"})
        else:
            out["@odata.deltaLink"] = here + "?" + urlencode({"$deltatoken": book.version})
        return 200, out, {}


def person(n: int, *, company: str | None = None, email: str | None = None,
           phone: str | None = None, first: str = "Kari", last: str | None = None) -> dict:
    """A People API person resource."""
    p: dict[str, Any] = {"resourceName": f"people/c{n}", "etag": f"%E{n}",
                         "names": [{"givenName": first, "familyName": last or f"Nordmann{n}",
                                    "displayName": f"{first} {last or f'Nordmann{n}'}"}],
                         "emailAddresses": [{"value": email or f"kari{n}@example.no",
                                             "type": "work"}]}
    if company:
        p["organizations"] = [{"name": company, "title": "Daglig leder"}]
    if phone:
        p["phoneNumbers"] = [{"value": phone, "type": "mobile"}]
    return p


def contact(n: int, *, company: str | None = None, email: str | None = None,
            mobile: str | None = None, first: str = "Adele", last: str | None = None) -> dict:
    """A Graph contact resource."""
    c: dict[str, Any] = {"id": f"AAMkAD{n:06d}", "givenName": first,
                         "surname": last or f"Vance{n}",
                         "displayName": f"{first} {last or f'Vance{n}'}",
                         "emailAddresses": [{"name": first, "address":
                                             email or f"adele{n}@contoso.example"}],
                         "businessPhones": [], "homePhones": [], "categories": []}
    if company:
        c["companyName"], c["jobTitle"] = company, "Buyer"
    if mobile:
        c["mobilePhone"] = mobile
    return c


def main() -> None:
    """`python -m tests.fakeservices DIR`: serve both fakes with a few contacts, print the
    environment that points crm-import at them, and serve until interrupted (to try the
    live sources by hand; the Google sign-in's URL is opened with curl, not a browser)."""
    import sys

    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    fake = FakeServices(folder)
    for i in range(1, 6):
        fake.book("people", "me").put(f"people/c{i}", person(i, company="Fjord AS" if i % 2
                                                             else None))
        fake.book("mail", "adele").put(f"AAMkAD{i:06d}", contact(i, company="Contoso"))
    secrets_file = fake.google_client(folder)
    client_id, _ = fake.ms_client()
    for key, value in {**fake.env(), "CRM_IMPORT_CONFIG_DIR": str(folder / "config")}.items():
        print(f"export {key}={value}")
    print(f"# crm-import connect google --client-secrets {secrets_file} --no-browser")
    print(f"# crm-import connect microsoft --client-id {client_id} --tenant contoso")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.close()


if __name__ == "__main__":
    main()
