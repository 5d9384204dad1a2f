"""GET a JSON API that holds up: 429 and 5xx (and dropped connections) retried with
exponential backoff honouring Retry-After, within a bounded total wait; a 401 refreshes the
access token once and retries; a timeout on every request. What a response says is kept
out of INFO logs (it is personal data); errors name the status and the service's reason."""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from contracts.errors import LiveSourceFailed
from flows.live.config import ca_bundle

log = logging.getLogger("crm_import")
# httpx logs every request's URL at INFO: a mailbox's address, sync tokens. Not with -v.
logging.getLogger("httpx").setLevel(logging.WARNING)

RETRIED = frozenset({429, 500, 502, 503, 504})
TIMEOUT = httpx.Timeout(60.0, connect=15.0)


class ApiError(LiveSourceFailed):
    """An answer that is not retried (or still failing after the retries)."""

    def __init__(self, account: str, status: int, reason: str, hint: str = ""):
        self.status, self.reason = status, reason
        super().__init__(account, f"the service answered {status}"
                         + (f" ({reason})" if reason else ""), hint=hint)


def _reason(response: httpx.Response) -> str:
    """The machine-readable reason of an error answer (Google's ErrorInfo reason or status,
    Graph's error code): never its free text, which may quote data."""
    try:
        error = response.json().get("error")
    except ValueError:
        return ""
    if isinstance(error, str):  # OAuth: {"error": "invalid_grant"}
        return error
    if not isinstance(error, dict):
        return ""
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            return str(detail["reason"])
    return str(error.get("status") or error.get("code") or "")


def _retry_after(response: httpx.Response) -> float | None:
    given = response.headers.get("Retry-After")
    if not given:
        return None
    if given.strip().isdigit():
        return float(given)
    try:
        return max(0.0, parsedate_to_datetime(given).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _wait(seconds: float) -> None:
    time.sleep(seconds)  # (one place: tests count the waits instead of waiting)


def client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, verify=ssl.create_default_context(cafile=ca_bundle()),
                        follow_redirects=False, trust_env=False)


@dataclass
class Api:
    """One account's API session. `token(refresh)` gives the access token (a fresh one when
    `refresh`): it is only ever put in the Authorization header."""
    account: str
    token: Callable[[bool], str]
    max_wait: float = 300.0  # the longest a request may wait out retries, in all
    http: httpx.Client = field(default_factory=client)
    retries: int = 0  # (how many requests were retried: the summary's note)

    def get(self, url: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> dict[str, Any]:
        waited, attempt, refreshed = 0.0, 0, False
        access = self.token(False)
        while True:
            response: httpx.Response | None
            try:
                response = self.http.get(url, params=params, headers={
                    **(headers or {}), "Authorization": f"Bearer {access}",
                    "Accept": "application/json"})
            except httpx.TransportError as exc:  # a timeout, a reset: retried like a 503
                response, failure = None, type(exc).__name__
            else:
                failure, status = str(response.status_code), response.status_code
                if status == 401 and not refreshed:
                    refreshed, access = True, self.token(True)
                    continue
                if status < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise ApiError(self.account, status, "not JSON") from None
                if status not in RETRIED:
                    raise ApiError(self.account, status, _reason(response))
            attempt += 1
            delay = (_retry_after(response) if response is not None else None)
            if delay is None:
                delay = min(60.0, 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)
            if waited + delay > self.max_wait:
                said = (f"{response.status_code}" + (f" ({r})" if (r := _reason(response)) else "")
                        if response is not None else f"no answer ({failure})")
                raise LiveSourceFailed(
                    self.account, f"the service still answers {said} after {attempt} "
                    f"tries in {waited:.0f} s" + (f" (it asks to wait {delay:.0f} s more)"
                                                  if delay > 60 else ""),
                    hint="try again later; nothing was imported")
            log.info("%s answered %s, retrying in %.1f s", urlsplit(url).netloc, failure, delay)
            self.retries += 1
            waited += delay
            _wait(delay)

    def close(self) -> None:
        self.http.close()
