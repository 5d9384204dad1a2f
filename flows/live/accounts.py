"""The token store: one file per connected account under the config directory
(`accounts/<provider>/<name>.json`, mode 0600 in a 0700 folder). What is in it (refresh
tokens, a service account's key, a client secret) is read here and by the provider modules,
and goes nowhere else: not the CRM, a log line, a run record or a Prefect parameter."""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.errors import CrmImportError, LiveSourceFailed
from flows.live import PROVIDERS
from flows.live.config import config_dir

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._+-]{0,99}")


@dataclass(frozen=True)
class Account:
    provider: str
    name: str

    @property
    def target(self) -> str:
        return f"{self.provider}:{self.name}"


def parse_target(text: str) -> Account | None:
    """`google:NAME` / `microsoft:NAME` → the account; None: not a live source (a path).
    A provider prefix with a bad name is an error, not a file name."""
    provider, sep, name = text.partition(":")
    if not sep or provider not in PROVIDERS:
        return None
    if not NAME.fullmatch(name):
        raise CrmImportError(f"{text}: not an account name — letters, digits and @ . _ + - "
                             "(at most 100), as given to `crm-import connect --account`")
    return Account(provider, name)


def account_name(provider: str, name: str | None) -> Account:
    """The account `connect --account NAME` names (default: "default")."""
    account = parse_target(f"{provider}:{name or 'default'}")
    assert account is not None
    return account


def _folder() -> Path:
    return config_dir() / "accounts"


def _path(account: Account) -> Path:
    return _folder() / account.provider / f"{account.name}.json"


def save(account: Account, secrets: dict[str, Any]) -> Path:
    """Keep a newly connected account's credentials."""
    return _write(account, {"provider": account.provider, "name": account.name,
                            "connected_at": datetime.now(UTC).isoformat(timespec="seconds"),
                            **secrets})


def _write(account: Account, record: dict[str, Any]) -> Path:
    """Written whole or not at all, readable by the owner only."""
    path = _path(account)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in (config_dir(), _folder(), path.parent):
        folder.chmod(0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(account: Account) -> dict[str, Any]:
    path = _path(account)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LiveSourceFailed(account.target, "not connected",
                               hint=f"run `crm-import connect {account.provider} --account "
                                    f"{account.name}` first") from None
    except (OSError, ValueError) as exc:
        raise LiveSourceFailed(account.target, f"the token store's file {path} is unreadable "
                               f"({type(exc).__name__})",
                               hint=f"run `crm-import connect {account.provider}` again") from None


def update(account: Account, **changes: Any) -> None:
    """Keep refreshed credentials (a new access token) beside the rest."""
    _write(account, load(account) | changes)


def remove(account: Account) -> bool:
    path = _path(account)
    if not path.exists():
        return False
    path.unlink()
    return True


def connected() -> list[dict[str, Any]]:
    """Every connected account, without a secret: provider, name, kind, scopes, when."""
    out = []
    for path in sorted(_folder().glob("*/*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append({"account": f"{record.get('provider')}:{record.get('name')}",
                    "provider": record.get("provider"), "name": record.get("name"),
                    "kind": record.get("kind"), "scopes": record.get("scopes", []),
                    "connected_at": record.get("connected_at")})
    return out
