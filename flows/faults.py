"""Fault injection for tests: CRM_IMPORT_FAIL_AT=<stage> raises there, <stage>:kill sends
SIGKILL to the process there. Stages: read, map, validate, plan, stage, load,
load:companies, load:persons, load:values, load:log, commit (just before COMMIT)."""

from __future__ import annotations

import os
import signal

ENV = "CRM_IMPORT_FAIL_AT"
STAGES = ("read", "map", "validate", "plan", "stage", "load", "load:companies",
          "load:persons", "load:values", "load:log", "commit")


class InjectedFault(RuntimeError):
    pass


def checkpoint(stage: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    name, _, mode = wanted.partition(":kill") if wanted.endswith(":kill") else (wanted, "", "")
    if name != stage:
        return
    if wanted.endswith(":kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(f"fault injected at stage {stage!r} ({ENV})")
