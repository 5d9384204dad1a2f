"""Where live sources keep their tokens and which endpoints they call: read from the
environment here, once (tests and sovereign clouds set the endpoints).

| variable | default |
|---|---|
| CRM_IMPORT_CONFIG_DIR | ~/.config/crm-import (the token store: accounts/) |
| CRM_IMPORT_GOOGLE_AUTH_URL | https://accounts.google.com/o/oauth2/auth |
| CRM_IMPORT_GOOGLE_TOKEN_URL | https://oauth2.googleapis.com/token |
| CRM_IMPORT_GOOGLE_API_URL | https://people.googleapis.com |
| CRM_IMPORT_MICROSOFT_AUTHORITY | https://login.microsoftonline.com/<tenant> |
| CRM_IMPORT_GRAPH_URL | https://graph.microsoft.com/v1.0 |
| SSL_CERT_FILE, REQUESTS_CA_BUNDLE | a private CA's certificates (default: certifi's) |
"""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    given = os.environ.get("CRM_IMPORT_CONFIG_DIR")
    return Path(given) if given else Path.home() / ".config" / "crm-import"


def _env(name: str, default: str) -> str:
    return (os.environ.get(name) or default).rstrip("/")


def google_auth_url() -> str:
    return _env("CRM_IMPORT_GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/auth")


def google_token_url() -> str:
    return _env("CRM_IMPORT_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token")


def google_api_url() -> str:
    return _env("CRM_IMPORT_GOOGLE_API_URL", "https://people.googleapis.com")


def microsoft_authority(tenant: str) -> str:
    return _env("CRM_IMPORT_MICROSOFT_AUTHORITY", f"https://login.microsoftonline.com/{tenant}")


def graph_url() -> str:
    return _env("CRM_IMPORT_GRAPH_URL", "https://graph.microsoft.com/v1.0")


def ca_bundle() -> str:
    """The certificates TLS is verified against: a private CA's file where one is set."""
    given = os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    if given:
        return given
    import certifi

    return certifi.where()
