"""The escape arena: canaries, counting listeners, a decoy process and the before/after oracles.

Nothing here trusts what sandboxed code prints about itself. A case has escaped when a canary value
reaches anything the app gets back, a listener counts a connection or datagram, a hash of the synthetic
home (with the app's database and a project inside) changes, a file with the arena's token appears in
the host's /tmp or /dev/shm, the run folder outlives the run, or a process is still alive in the run's
cgroup (the sandbox's own grouping) or carries the run's environment mark after the run returned.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import selectors
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from purpose_desktop.engine.tools import sandbox

MARK_VAR = "PD_RUN_MARK"
CANARY_ENV = "PD_CANARY_SECRET"
DECOY_ENV = "PD_DECOY_SECRET"


def _host_ips() -> list[str]:
    """This machine's own non-loopback addresses (IPv4 and IPv6), read from the kernel."""
    found: set[str] = set()
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect(("10.255.255.255", 9))  # no packet is sent; this only picks the outgoing address
        found.add(probe.getsockname()[0])
        probe.close()
    except OSError:
        pass
    try:
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            hexaddr, _, _, scope, _, name = line.split()
            if name != "lo" and scope == "00":  # global scope only (link-local needs a zone id)
                found.add(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(hexaddr)))
    except (OSError, ValueError):
        pass
    return sorted(a for a in found if not a.startswith("127."))


class Listeners:
    """TCP (v4 and v6, every interface), UDP, an abstract and a path Unix socket; counts every contact."""

    def __init__(self, unix_path: str, abstract_name: str) -> None:
        self.counts = {"tcp": 0, "udp": 0, "unix": 0, "abstract": 0}
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._socks: list[socket.socket] = []
        tcp = self._add(socket.socket(socket.AF_INET, socket.SOCK_STREAM), ("0.0.0.0", 0), "tcp")
        self.tcp_port = tcp.getsockname()[1]
        try:
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            self._add(v6, ("::", self.tcp_port), "tcp")
        except OSError:
            pass  # no IPv6 on this machine: the v6 cases then only prove the sandbox's side
        udp = self._add(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), ("0.0.0.0", 0), "udp")
        self.udp_port = udp.getsockname()[1]
        try:
            udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            udp6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            self._add(udp6, ("::", self.udp_port), "udp")
        except OSError:
            pass
        self._add(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), unix_path, "unix")
        self._add(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), "\0" + abstract_name, "abstract")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="arena-listeners", daemon=True)
        self._thread.start()

    def _add(self, sock: socket.socket, address, kind: str) -> socket.socket:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        if sock.type == socket.SOCK_STREAM:
            sock.listen(64)
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, kind)
        self._socks.append(sock)
        return sock

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock, kind = key.fileobj, key.data
                try:
                    if sock.type == socket.SOCK_STREAM:
                        conn, _ = sock.accept()
                        conn.close()
                    else:
                        sock.recvfrom(65536)
                except OSError:
                    continue
                with self._lock:
                    self.counts[kind] += 1

    def snapshot(self) -> dict[str, int]:
        time.sleep(0.06)  # one more select round for anything that arrived just now
        with self._lock:
            return dict(self.counts)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for sock in self._socks:
            sock.close()
        self._selector.close()


def tree_hash(root: Path) -> dict[str, str]:
    """Path → type, mode, size and content hash (link target for links) of everything under ``root``."""
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "link:" + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                out[rel] = f"file:{stat.S_IMODE(st.st_mode):o}:{st.st_size}:{digest}"
            else:
                out[rel] = f"other:{stat.S_IFMT(st.st_mode)}:{stat.S_IMODE(st.st_mode):o}"
    return out


def _proc_text(pid: str, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def survivors(mark: str) -> list[str]:
    """Processes in one of this process's run cgroups, or carrying ``mark`` in their environment."""
    group = f"purpose-desktop-{os.getpid()}-".encode()
    needle = f"{MARK_VAR}={mark}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        if group in _proc_text(pid, "cgroup") or needle in _proc_text(pid, "environ"):
            comm = _proc_text(pid, "comm").decode(errors="replace").strip()
            status = _proc_text(pid, "stat").split(b") ")[-1][:1].decode(errors="replace")
            if status != "Z":  # a zombie is dead; its parent has just not reaped it yet
                found.append(f"{pid}:{comm}")
    return found


@dataclass
class Arena:
    """Everything a case may attack, plus the oracles that decide whether it got anywhere."""

    root: Path
    token: str = field(default_factory=lambda: "pdrel" + secrets.token_hex(6))
    canaries: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        self.data = self.home / ".local" / "share" / "purpose-desktop"
        self.project = self.home / "projects" / "webapp"
        self.canaries = {
            name: f"{name.upper()}{secrets.token_hex(12)}"
            for name in ("ssh", "aws", "db", "env", "decoy", "cmd")
        }
        self.ssh = self.home / ".ssh" / "id_ed25519"
        self.aws = self.home / ".aws" / "credentials"
        self.db = self.data / "purpose-desktop.db"
        self.bashrc = self.home / ".bashrc"
        self.profile = self.home / ".profile"
        self.autostart = self.home / ".config" / "autostart"
        self.project_file = self.project / "app.py"
        self.unix_path = str(self.root / "agent.sock")
        self.abstract_name = f"{self.token}-abstract"
        for folder in (self.ssh.parent, self.aws.parent, self.data, self.autostart, self.project):
            folder.mkdir(parents=True, exist_ok=True)
        self.ssh.write_text(
            f"-----BEGIN OPENSSH PRIVATE KEY-----\n{self.canaries['ssh']}\n-----END OPENSSH PRIVATE KEY-----\n"
        )
        self.ssh.chmod(0o600)
        self.aws.write_text(
            f"[default]\naws_access_key_id = AKIA0000\naws_secret_access_key = {self.canaries['aws']}\n"
        )
        self.bashrc.write_text("# ~/.bashrc\nexport PATH=$HOME/bin:$PATH\n")
        self.profile.write_text("# ~/.profile\n")
        (self.autostart / "keep.desktop").write_text("[Desktop Entry]\nName=keep\n")
        self.project_file.write_text("print('hello')\n")
        (self.project / "README.md").write_text("# webapp\n")
        with sqlite3.connect(self.db) as conn:
            conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, content TEXT)")
            conn.execute("INSERT INTO messages (content) VALUES (?)", [f"my key is {self.canaries['db']}"])
        conn.close()
        self.listeners = Listeners(self.unix_path, self.abstract_name)
        self.host_ips = _host_ips()
        self.decoy = self._start_decoy()

    def _start_decoy(self) -> subprocess.Popen:
        """Another process of this user, with a secret in its environment and command line."""
        return subprocess.Popen(
            [sys.executable, "-c", "import time\nwhile True: time.sleep(60)", self.canaries["cmd"]],
            env={"PATH": os.environ.get("PATH", "/usr/bin"), DECOY_ENV: self.canaries["decoy"]},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def context(self) -> dict:
        """What an attacker is assumed to know: every path, port and pid (not the canary values)."""
        return {
            "home": str(self.home),
            "ssh": str(self.ssh),
            "aws": str(self.aws),
            "db": str(self.db),
            "bashrc": str(self.bashrc),
            "profile": str(self.profile),
            "autostart": str(self.autostart),
            "project": str(self.project),
            "project_file": str(self.project_file),
            "unix_path": self.unix_path,
            "abstract": self.abstract_name,
            "tcp_port": self.listeners.tcp_port,
            "udp_port": self.listeners.udp_port,
            "host_ips": self.host_ips,
            "app_pid": os.getpid(),
            "decoy_pid": self.decoy.pid,
            "token": self.token,
            "real_home": os.path.expanduser("~"),
        }

    # -- oracles ------------------------------------------------------------------------------

    def leak_forms(self) -> dict[str, list[bytes]]:
        forms = {}
        for name, value in self.canaries.items():
            raw = value.encode()
            forms[name] = [
                raw,
                raw[::-1],
                raw.hex().encode(),
                base64.b64encode(raw),
                base64.b64encode(raw)[:-2],
            ]
        return forms

    def leaked(self, text: str) -> list[str]:
        data = text.encode("utf-8", "replace")
        return [name for name, forms in self.leak_forms().items() if any(f in data for f in forms)]

    def host_traces(self) -> list[str]:
        """Entries carrying the arena token in the host's shared scratch folders."""
        found = []
        for folder in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
            try:
                found += [os.path.join(folder, n) for n in os.listdir(folder) if self.token in n]
            except OSError:
                pass
        return sorted(set(found))

    def run_folders(self) -> list[str]:
        prefix = f"{sandbox.RUN_DIR_PREFIX}{os.getpid()}-"
        return sorted(n for n in os.listdir(tempfile.gettempdir()) if n.startswith(prefix))

    def remove_run_folders(self) -> None:
        for name in self.run_folders():
            subprocess.run(
                ["rm", "-rf", "--one-file-system", "--", os.path.join(tempfile.gettempdir(), name)],
                check=False,
            )

    def decoy_alive(self) -> bool:
        return self.decoy.poll() is None

    def ensure_decoy(self) -> None:
        if not self.decoy_alive():
            self.decoy.wait(5)
            self.decoy = self._start_decoy()

    def remove_traces(self) -> None:
        for path in self.host_traces():
            subprocess.run(["rm", "-rf", "--", path], check=False)

    def close(self) -> None:
        self.listeners.close()
        if self.decoy.poll() is None:
            self.decoy.send_signal(signal.SIGKILL)
        self.decoy.wait(5)
