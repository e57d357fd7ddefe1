"""crm-scoring-dbt: the dbt that runs start, made to die with the run that started it.

A run process killed with SIGKILL cannot stop its children: dbt went on building, holding its
connections and locks, for seconds after the run was gone. On Linux the parent-death signal
(prctl PR_SET_PDEATHSIG) kills it with its parent; it survives the exec of dbt. Elsewhere this
is plain dbt.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from crm_scoring.settings import DBT

# Set by the run (crm_scoring.defs.resources.dbt_environment): the process dbt must die with.
PARENT_PID_ENV = "CRM_SCORING_DBT_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def main() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        # A parent that died before the signal was armed would never send it.
        parent = os.environ.get(PARENT_PID_ENV)
        if parent and os.getppid() != int(parent):
            sys.exit(f"crm-scoring-dbt: the run that started dbt (pid {parent}) is gone")
    os.execv(DBT, [DBT, *sys.argv[1:]])


if __name__ == "__main__":
    main()
