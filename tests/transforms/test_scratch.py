"""Scratch folders: a killed run's are removed by the next, and only those."""

from __future__ import annotations

import os
import subprocess
import sys

from transforms.scratch import _host, scratch_folder, sweep


def test_the_folders_of_a_gone_process_are_removed_and_no_others(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(gone.stdout)
    left = tmp_path / f"crm-import-suggest-{_host()}-{dead}-abc"
    (left / "spill").mkdir(parents=True)
    (left / "person-new-0.parquet").write_bytes(b"x" * 100)
    mine = tmp_path / f"crm-import-chunks-{_host()}-{os.getpid()}-def"
    elsewhere = tmp_path / f"crm-import-suggest-otherhost-{dead}-ghi"  # (a shared folder)
    older = tmp_path / "crm-import-suggest-k2j4h5"  # (no process named: left alone)
    other = tmp_path / f"not-ours-{_host()}-{dead}-x"
    for path in (mine, elsewhere, older, other):
        path.mkdir()
    with scratch_folder("duplicates", tmp_path) as made:
        assert not left.exists()
        assert all(p.exists() for p in (mine, elsewhere, older, other))
        assert os.path.basename(made).startswith(f"crm-import-duplicates-{_host()}-{os.getpid()}-")
        assert sweep(tmp_path) == []  # (its own folder is its process's: kept)
    assert not os.path.exists(made)
