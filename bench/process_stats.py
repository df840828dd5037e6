"""What a server process costs, read from /proc: resident memory and CPU time (Linux only).

Also the file-descriptor limit a load generator needs for thousands of sockets; processes started
afterwards (the servers under test) inherit the raised limit.
"""

import asyncio
import os
import resource
import time
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """The process's resident set size (VmRSS) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid} (a zombie?)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


async def wait_quiet(
    pids: list[int], *, busy_below: float = 0.05, window: float = 1.0, timeout: float = 60.0
) -> float:
    """Wait until the processes together use under `busy_below` of a core for one `window`.

    Memory is only comparable once a server has finished what it was doing (handshakes,
    presence fan-out, freeing a closed socket). Returns the seconds waited; gives up quietly at
    `timeout` (a measurement then, rather than none).
    """
    started = time.monotonic()
    while True:
        before = sum(cpu_seconds(pid) for pid in pids)
        await asyncio.sleep(window)
        used = sum(cpu_seconds(pid) for pid in pids) - before
        waited = time.monotonic() - started
        if used / window < busy_below or waited >= timeout:
            return round(waited, 1)


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit to `wanted` (or as far as allowed); the new limit.

    The soft limit may go up to the hard one; root may raise the hard one too.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            pass
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target
