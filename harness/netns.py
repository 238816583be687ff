"""Linux network namespaces as hosts: one address and one link each, on a bridge of their own.

    with network(["lb", "app1"], "10.214.0.0/24") as net:
        net.popen("app1", [...])           # a server on app1's address
        with net.inside("lb"): ...         # sockets opened here are lb's (this thread only)
        net.link_down("app1")              # app1's cable pulled

Every name starts with the run's prefix (`f` + 4 hex digits, PREFIX_FAMILY), so parallel runs cannot collide and
a crashed run's namespaces are found by name. The bridge lives in a namespace of its own (the "switch"), not in
the machine's: bridged frames then pass the switch's empty netfilter tables, whatever FORWARD policy the
machine's firewall (or a Docker engine) sets, and the machine's own routes never see the test network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.processes import KILL_WAIT

IP = "ip"
PREFIX_FAMILY = re.compile(r"f[0-9a-f]{4}")
SWITCH = "sw"
BRIDGE = "switch0"
# Which process owns a prefix: a namespace whose owner is gone is a crashed run's leftover.
OWNERS = Path("/run/folio-netns")
IFNAMSIZ = 15  # the kernel's limit on an interface name, and ours on a namespace name


class NamespaceError(RuntimeError):
    """An `ip` command failed; the message carries the command and its output."""


def ip(*args: str, namespace: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [IP, *(["-n", namespace] if namespace else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise NamespaceError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result


def in_namespace(namespace: str, command: Sequence[str]) -> list[str]:
    """`command` run in `namespace`: `ip netns exec` execs it, so the pid Popen returns is the command's own."""
    return [IP, "netns", "exec", namespace, *command]


def namespaces() -> list[str]:
    listing = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def namespace_pids(namespace: str) -> list[int]:
    return [int(pid) for pid in ip("netns", "pids", namespace, check=False).stdout.split()]


def process_start_time(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return ""


def _owner_alive(prefix: str) -> bool:
    try:
        pid, started = (OWNERS / prefix).read_text().split()
    except (OSError, ValueError):
        return False
    # The start time tells the owner from a later process that got its pid.
    return process_start_time(int(pid)) == started


def kill_namespace_processes(namespace: str) -> None:
    """SIGKILL every process left in `namespace`, by pid, and wait for them to go."""
    deadline = time.monotonic() + KILL_WAIT
    while pids := namespace_pids(namespace):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise NamespaceError(f"processes {pids} in {namespace} outlived SIGKILL")
        time.sleep(0.05)


def remove_leftovers() -> list[str]:
    """Delete the namespaces of runs that are gone (their processes killed first); the removed names."""
    removed = []
    for name in namespaces():
        prefix = name.split("-", 1)[0]
        if PREFIX_FAMILY.fullmatch(prefix) and "-" in name and not _owner_alive(prefix):
            kill_namespace_processes(name)
            ip("netns", "delete", name, check=False)
            removed.append(name)
    if OWNERS.is_dir():
        for record in OWNERS.iterdir():
            if not _owner_alive(record.name):
                record.unlink(missing_ok=True)
    return removed


def new_prefix() -> str:
    taken = {name.split("-", 1)[0] for name in namespaces()}
    while (prefix := f"f{secrets.token_hex(2)}") in taken:
        pass
    return prefix


def available() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which(IP) is None:
        return "ip (iproute2) is not installed"
    if ip("netns", "list", check=False).returncode != 0:
        return "`ip netns` is not supported here"
    return None


@dataclass
class Network:
    prefix: str
    subnet: ipaddress.IPv4Network
    addresses: dict[str, str] = field(default_factory=dict)  # host -> its address
    link_state: dict[str, str] = field(default_factory=dict)

    def name(self, host: str) -> str:
        name = f"{self.prefix}-{host}"
        if len(name) > IFNAMSIZ:
            raise ValueError(f"{name} is longer than {IFNAMSIZ} characters")
        return name

    @contextlib.contextmanager
    def inside(self, host: str) -> Iterator[None]:
        """Run the block in `host`'s network namespace: setns() moves this thread only, and the sockets opened
        in the block keep their namespace after it."""
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name(host)}", os.O_RDONLY)
        try:
            os.setns(target, os.CLONE_NEWNET)
            yield
        finally:
            os.setns(back, os.CLONE_NEWNET)
            os.close(target)
            os.close(back)

    def popen(self, host: str, command: Sequence[str], **kwargs) -> subprocess.Popen:
        """A server on `host`, in a process group of its own (harness/processes.py stops groups)."""
        return subprocess.Popen(in_namespace(self.name(host), command), start_new_session=True, **kwargs)

    def run(self, host: str, command: Sequence[str], **kwargs) -> subprocess.CompletedProcess[str]:
        kwargs.setdefault("timeout", 60)
        return subprocess.run(
            in_namespace(self.name(host), command), capture_output=True, text=True, check=False, **kwargs
        )

    def link_down(self, host: str) -> None:
        ip("link", "set", "eth0", "down", namespace=self.name(host))

    def link_up(self, host: str) -> None:
        ip("link", "set", "eth0", "up", namespace=self.name(host))

    def lossy_link(self, host: str, loss_percent: int) -> str:
        """Drop `loss_percent` of `host`'s packets, both ways; how it was done. netem where the kernel has it;
        otherwise the same random loss from netfilter's `statistic` match in the host's own namespace (its
        INPUT and OUTPUT chains, never FORWARD)."""
        result = self.run(host, ["tc", "qdisc", "add", "dev", "eth0", "root", "netem", "loss", f"{loss_percent}%"])
        if result.returncode == 0:
            self.link_state[host] = "netem"
            return f"tc netem loss {loss_percent}%"
        probability = f"{loss_percent / 100:.2f}"
        for chain in ("INPUT", "OUTPUT"):
            rule = ["-A", chain, "-o" if chain == "OUTPUT" else "-i", "eth0", "-m", "statistic", "--mode", "random",
                    "--probability", probability, "-j", "DROP"]  # fmt: skip
            done = self.run(host, ["iptables", *rule])
            if done.returncode != 0:
                raise NamespaceError(f"neither netem ({result.stderr.strip()}) nor iptables: {done.stderr.strip()}")
        self.link_state[host] = "iptables"
        return f"iptables statistic loss {loss_percent}% (no netem in this kernel: {result.stderr.strip()})"

    def clear_loss(self, host: str) -> None:
        if self.link_state.pop(host, "") == "netem":
            self.run(host, ["tc", "qdisc", "del", "dev", "eth0", "root"])
        else:
            self.run(host, ["iptables", "-F"])


@contextlib.contextmanager
def network(hosts: Sequence[str], subnet: str) -> Iterator[Network]:
    """Namespaces for `hosts` on one bridge; the switch's own address (.1) is where test clients sit. The block's
    servers must be stopped by the caller before it ends; any process still inside is then killed by pid."""
    remove_leftovers()
    prefix = new_prefix()
    net = Network(prefix=prefix, subnet=ipaddress.ip_network(subnet))
    OWNERS.mkdir(parents=True, exist_ok=True)
    (OWNERS / prefix).write_text(f"{os.getpid()} {process_start_time(os.getpid())}")
    made: list[str] = []
    try:
        switch = net.name(SWITCH)
        ip("netns", "add", switch)
        made.append(switch)
        ip("link", "set", "lo", "up", namespace=switch)
        ip("link", "add", "name", BRIDGE, "type", "bridge", namespace=switch)
        hosts_addresses = iter(net.subnet.hosts())
        client = next(hosts_addresses)
        ip("address", "add", f"{client}/{net.subnet.prefixlen}", "dev", BRIDGE, namespace=switch)
        ip("link", "set", BRIDGE, "up", namespace=switch)
        net.addresses[SWITCH] = str(client)
        for host in hosts:
            namespace = net.name(host)
            ip("netns", "add", namespace)
            made.append(namespace)
            # The switch's port is named after the host; the host sees its end as eth0.
            ip("link", "add", "name", host, "netns", switch, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            ip("link", "set", host, "master", BRIDGE, "up", namespace=switch)
            address = str(next(hosts_addresses))
            ip("address", "add", f"{address}/{net.subnet.prefixlen}", "dev", "eth0", namespace=namespace)
            ip("link", "set", "eth0", "up", namespace=namespace)
            ip("link", "set", "lo", "up", namespace=namespace)
            net.addresses[host] = address
        yield net
    finally:
        for namespace in reversed(made):
            kill_namespace_processes(namespace)
            ip("netns", "delete", namespace, check=False)
        (OWNERS / prefix).unlink(missing_ok=True)
