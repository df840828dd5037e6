"""Linux network namespaces as simulated hosts on one machine (the cluster tests).

A `Network` is one namespace holding a bridge (the switch) and one namespace per node, each
joined to the bridge by a veth pair and given its own address on a private /24. Both ends of
every link are created inside namespaces, so the root namespace (this machine's own network)
never sees the addresses. Needs root and iproute2's `ip`; standard library only.
"""

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from deploy.processes import ProcessError, run

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")


def ip(*arguments: str) -> None:
    run(["ip", *arguments], what=f"ip {' '.join(arguments)}")


def netns_unavailable_reason() -> str | None:
    """Why network namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = f"educa-probe-{os.getpid()}"
    try:
        ip("netns", "add", probe)
    except ProcessError as error:
        return f"`ip netns add` fails here: {error}"
    ip("netns", "delete", probe)
    return None


def namespace_pids(name: str) -> list[int]:
    result = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    return [int(pid) for pid in result.stdout.split()]


def kill_namespace_processes(name: str) -> None:
    """SIGKILL every process still inside the namespace (all of them started in it by us)."""
    for pid in namespace_pids(name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class Namespace:
    """One node: a network namespace with an address on the network's bridge."""

    def __init__(self, name: str, address: str):
        self.name = name
        self.address = address

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace (`ip netns exec` keeps the pid: it execs)."""
        return ["ip", "netns", "exec", self.name, *argv]

    def call(self, function, *args):
        """`function(*args)` in a thread that has entered the namespace; its result or error.

        A thread's network namespace is its own (setns), so the caller's stays as it was, and
        threads or sockets the function creates belong to the namespace.
        """
        outcome: dict = {}

        def enter_and_call() -> None:
            try:
                with open(NETNS_DIR / self.name) as handle:
                    libc = ctypes.CDLL(None, use_errno=True)
                    if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), f"setns into {self.name}")
                outcome["value"] = function(*args)
            except BaseException as error:  # handed to the caller's thread
                outcome["error"] = error

        thread = threading.Thread(target=enter_and_call, name=f"netns-{self.name}")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def cut_from(self, address: str) -> None:
        """Drop every packet this node sends to `address` (a partition, until `heal_to`)."""
        ip("-n", self.name, "route", "add", "blackhole", f"{address}/32")

    def heal_to(self, address: str) -> None:
        ip("-n", self.name, "route", "del", "blackhole", f"{address}/32")


class Network:
    """A bridge in a switch namespace and nodes `<prefix>-<node>` on `subnet`.0/24.

    `close()` kills whatever still runs in the nodes and deletes every namespace.
    """

    def __init__(self, prefix: str, subnet: str = "10.203.0"):
        self.prefix = prefix
        self.subnet = subnet
        self.switch = f"{prefix}-switch"
        self.nodes: dict[str, Namespace] = {}
        ip("netns", "add", self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")

    def add_node(self, node: str, number: int) -> Namespace:
        """Namespace `<prefix>-<node>` at `<subnet>.<number>`, linked to the bridge."""
        namespace = Namespace(f"{self.prefix}-{node}", f"{self.subnet}.{number}")
        self.nodes[node] = namespace
        ip("netns", "add", namespace.name)
        port = f"port{number}"
        ip("-n", self.switch, "link", "add", port, "type", "veth",
           "peer", "name", "eth0", "netns", namespace.name)  # fmt: skip
        ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        ip("-n", namespace.name, "addr", "add", f"{namespace.address}/24", "dev", "eth0")
        ip("-n", namespace.name, "link", "set", "eth0", "up")
        ip("-n", namespace.name, "link", "set", "lo", "up")
        return namespace

    def close(self) -> None:
        for name in [*(node.name for node in self.nodes.values()), self.switch]:
            kill_namespace_processes(name)
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def delete_abandoned_networks(prefix: str) -> None:
    """Delete namespaces `<prefix><pid>-*` whose creating process (pid) is gone: what a run
    killed before its clean-up left behind."""
    if not NETNS_DIR.is_dir():
        return
    for entry in NETNS_DIR.iterdir():
        owner = entry.name.removeprefix(prefix).split("-", 1)[0]
        if (
            entry.name.startswith(prefix)
            and owner.isdigit()
            and not Path(f"/proc/{owner}").exists()
        ):
            kill_namespace_processes(entry.name)
            subprocess.run(["ip", "netns", "delete", entry.name], capture_output=True, check=False)
