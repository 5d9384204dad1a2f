"""A throwaway PostgreSQL server for the tests that need a real one (the ERP tests).

`CRM_IMPORT_TEST_PG` (a `postgresql://` URL to a server we may create databases on) is
used when set. Otherwise the Debian server binaries are started on 127.0.0.1 in a temp
directory (`initdb`, `pg_ctl`; as the `postgres` user when we are root, which PostgreSQL
refuses to run as). `.ci/run` installs the package; on a machine without it the tests say
so and skip — except in CI (`CI` set), where a missing server is a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import closing
from pathlib import Path


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[4]))
    return Path(dirs[-1]) if dirs else None


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _recreate(con, name: str, template: str | None = None) -> None:
    """An empty database of that name (a copy of `template`), whatever was there."""
    con.execute(f'DROP DATABASE IF EXISTS "{name}"')
    con.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


class LocalServer:
    def __init__(self) -> None:
        self.url: str | None = None
        self.why_not = ""
        self._dir: Path | None = None
        self._bin: Path | None = None
        self._as: list[str] = []
        self._template = False
        self._count = 0

    def start(self) -> str | None:
        if url := os.environ.get("CRM_IMPORT_TEST_PG"):
            self.url = url.rstrip("/")
            return self.url
        self._bin = _bindir()
        if self._bin is None:
            self.why_not = "no PostgreSQL server binaries (apt-get install postgresql)"
            return None
        self._dir = Path(tempfile.mkdtemp(prefix="crm-import-pg-"))
        self._dir.chmod(0o755)
        if os.geteuid() == 0:  # PostgreSQL does not run as root
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                self.why_not = "running as root and there is no postgres user"
                return None
            os.chown(self._dir, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        data, port = self._dir / "data", _free_port()
        try:
            subprocess.run([*self._as, str(self._bin / "initdb"), "-D", str(data), "-A", "trust",
                            "-U", "postgres", "-E", "UTF8", "--no-sync"],
                           check=True, capture_output=True, timeout=120)
            subprocess.run([*self._as, str(self._bin / "pg_ctl"), "-D", str(data), "-w", "-t", "60",
                            "-l", str(self._dir / "log"), "-o",
                            f"-c listen_addresses=127.0.0.1 -p {port} -k {self._dir} "
                            "-c fsync=off", "start"],
                           check=True, capture_output=True, timeout=120)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            err = getattr(exc, "stderr", b"") or b""
            self.why_not = f"could not start PostgreSQL: {exc} {err.decode(errors='replace')[-300:]}"
            return None
        self.url = f"postgresql://postgres@127.0.0.1:{port}"
        return self.url

    def create_database(self, name: str, dump: Path | None = None) -> str:
        """A fresh database (loaded from a dump with psql, if given); its URL."""
        import psycopg

        assert self.url is not None
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as con:
            _recreate(con, name)
        url = f"{self.url}/{name}"
        if dump is not None:
            psql = shutil.which("psql") or str((self._bin or Path("/usr/bin")) / "psql")
            subprocess.run([psql, url, "-q", "-f", str(dump)],  # (a PG 9 dump: some SETs fail)
                           check=True, capture_output=True, timeout=300)
        return url

    def fresh_database(self) -> str:
        """An empty CRM database for one test: a copy of a template that already holds the
        crm-import schema (copying is much faster than creating the schema each time)."""
        import psycopg

        from flows.config import open_crm

        assert self.url is not None
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as con:
            if not self._template:
                _recreate(con, "crm_template")
                open_crm(f"{self.url}/crm_template").close()
                self._template = True
            self._count += 1
            name = f"crm_{os.getpid()}_{self._count}"
            _recreate(con, name, template="crm_template")
        return f"{self.url}/{name}"

    def stop(self) -> None:
        if self._dir is None or self._bin is None:
            return
        subprocess.run([*self._as, str(self._bin / "pg_ctl"), "-D", str(self._dir / "data"),
                        "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self._dir, ignore_errors=True)
