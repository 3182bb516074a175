"""Where the cores went: CPU seconds used during a load run by the server under test (its
gunicorn process group), by PostgreSQL, and by the load generator, per webhook.

On a small machine all three share the same cores, so the throughput ratio is only readable
next to these figures: the baseline's whole cost per webhook is the floor any database-backed
app pays before doing its own work. Linux only (``/proc``); elsewhere the figures are left out.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class CpuSeconds:
    server: float
    postgres: float
    load: float  # processes this one started and has waited for: the load generator

    def __sub__(self, other: CpuSeconds) -> CpuSeconds:
        return CpuSeconds(
            self.server - other.server, self.postgres - other.postgres, self.load - other.load
        )

    def per_webhook_ms(self, webhooks: int) -> dict[str, float]:
        count = max(webhooks, 1)
        return {
            "server": 1000 * self.server / count,
            "postgres": 1000 * self.postgres / count,
            "load": 1000 * self.load / count,
        }


def _stat(pid: str) -> tuple[str, int, float] | None:
    """(command name, process group, CPU seconds) of a live process; ``None`` if it is gone."""
    try:
        raw = (PROC / pid / "stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()  # from field 3 (state) on
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return name, int(fields[2]), ticks / os.sysconf("SC_CLK_TCK")


def snapshot(server_group: int) -> CpuSeconds | None:
    """CPU used so far by the server's process group, PostgreSQL's processes on this host,
    and this process's finished children."""
    if not (PROC / "self" / "stat").exists():
        return None
    server = postgres = 0.0
    for pid in filter(str.isdigit, os.listdir(PROC)):
        stat = _stat(pid)
        if stat is None:
            continue
        name, group, seconds = stat
        if group == server_group:
            server += seconds
        elif name == "postgres":
            postgres += seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSeconds(server, postgres, children.ru_utime + children.ru_stime)


class Meter:
    """``with Meter(group) as meter:`` leaves what the block used in ``meter.used`` (``None``
    off Linux)."""

    def __init__(self, server_group: int) -> None:
        self.server_group = server_group
        self.used: CpuSeconds | None = None

    def __enter__(self) -> Meter:
        self.before = snapshot(self.server_group)
        return self

    def __exit__(self, *_exc: object) -> None:
        after = snapshot(self.server_group)
        if self.before is not None and after is not None:
            self.used = after - self.before
