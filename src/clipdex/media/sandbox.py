"""A filesystem and network sandbox for FFmpeg tools, with Linux Landlock.

Each FFmpeg/ffprobe process on user media may read the system's program files (its binary, shared
libraries, a few /proc and /sys files) and exactly one more file, its own input; it may write only
into its own output folder, and it may not open TCP connections at all. Everything else, other
tenants' blobs and other jobs' scratch folders included, fails with EACCES inside the kernel, so
even a demuxer bug that names another path cannot read it. The rules are built in the parent (once
per call) and applied in the child between fork and exec (``preexec``), so the API and worker
processes themselves are never restricted.

Landlock is in Linux since 5.13 (network rules since 6.7). Where it is missing (another OS, an old
kernel, a seccomp profile that hides it), ``mode="auto"`` runs without it and says so once in the
log and in ``clipdex doctor``; ``mode="required"`` refuses to run media tools instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import platform as _platform
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from clipdex.errors import SandboxUnavailable

log = logging.getLogger(__name__)

_SYS_CREATE, _SYS_ADD, _SYS_RESTRICT = 444, 445, 446  # the same numbers on every Linux architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1 << 0, 1 << 1

# What a dynamically linked FFmpeg reads before it looks at its input (seen with strace).
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache", "/etc/ld.so.conf",
               "/etc/ld.so.conf.d", "/etc/localtime", "/proc/filesystems", "/proc/self/status",
               "/proc/cpuinfo", "/sys/devices/system/cpu", "/sys/devices/system/node", "/dev/null",
               "/dev/urandom")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = None
_abi: int | None = None
_warned = False


def _syscall():
    """libc's syscall(), resolved in the parent: the forked child must not enter the dynamic loader."""
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(None, use_errno=True)
        _libc = (lib.syscall, lib.prctl)
    return _libc[0]


def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 when unavailable."""
    global _abi
    if _abi is None:
        _abi = 0
        if _platform.system() == "Linux":
            try:
                v = _syscall()(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
                _abi = max(0, int(v))
            except (OSError, AttributeError):
                _abi = 0
    return _abi


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM: ABI 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


@dataclass
class Sandbox:
    """What one tool process may touch besides the system files."""

    read_files: list[Path] = field(default_factory=list)
    write_dirs: list[Path] = field(default_factory=list)
    mode: str = "auto"  # auto | required | off

    def ruleset(self, binary: str) -> int | None:
        """A Landlock ruleset fd for these rules (the caller closes it), or None when not sandboxed."""
        global _warned
        if self.mode == "off":
            return None
        abi = abi_version()
        if abi < 1:
            if self.mode == "required":
                raise SandboxUnavailable("the media sandbox (Landlock) is required but this kernel has none")
            if not _warned:
                _warned = True
                log.warning("Landlock is not available: media tools run without the filesystem sandbox "
                            "(format allow-list and pinned demuxers still apply)")
            return None
        handled = _fs_rights(abi)
        attr = _RulesetAttr(handled, (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0,
                            (SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL) if abi >= 6 else 0)
        size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
        fd = _syscall()(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_create_ruleset: {os.strerror(err)}")
        try:
            exe = shutil.which(binary) or binary
            rules: list[tuple[str, int]] = [(p, READ_FILE | READ_DIR | EXECUTE) for p in SYSTEM_READ]
            rules.append((os.path.realpath(exe), READ_FILE | EXECUTE))
            rules += [(str(p), READ_FILE) for p in self.read_files]
            rules += [(str(p), READ_FILE | READ_DIR | WRITE_FILE | MAKE_REG | REMOVE_FILE | TRUNCATE)
                      for p in self.write_dirs]
            for path, rights in rules:
                _add_rule(fd, path, rights & handled)
        except BaseException:
            os.close(fd)
            raise
        return fd


def _add_rule(ruleset_fd: int, path: str, rights: int) -> None:
    try:
        pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(rights, pfd)
        if _syscall()(_SYS_ADD, ctypes.c_int(ruleset_fd), ctypes.c_int(_RULE_PATH_BENEATH),
                      ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_add_rule {path}: {os.strerror(err)}")
    finally:
        os.close(pfd)


def restrict_self(ruleset_fd: int) -> None:
    """Enforce ``ruleset_fd`` on the calling process (the forked child, before exec)."""
    syscall, prctl = _libc  # resolved when the ruleset was built, in the parent
    if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if syscall(_SYS_RESTRICT, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self")


def status() -> str:
    """One line for ``clipdex doctor``."""
    abi = abi_version()
    if abi < 1:
        return "Landlock unavailable: media tools run with the format allow-list only"
    net = "no TCP" if abi >= 4 else "TCP not restricted by Landlock (kernel < 6.7)"
    return f"Landlock ABI {abi}: media tools read only their input, write only their output folder, {net}"


@dataclass
class ToolInput:
    """The path a tool is given for its input, and the sandbox that lets it read only that."""

    path: Path
    sandbox: Sandbox
    workdir: Path


@contextlib.contextmanager
def prepare(settings, src: Path, write_dirs: tuple[Path, ...] = ()) -> Iterator[ToolInput]:
    """A private, empty working folder for one tool run, with the input hard-linked into it.

    The link keeps blob paths (which carry tenant and video ids) off the tool's command line and out
    of its error messages; where the input lives on another filesystem the original path is used.
    Either way the sandbox grants read access to that one file only.
    """
    root = Path(settings.staging_dir) / "sandbox"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    try:
        inp = work / ("input" + "".join(c for c in src.suffix[:9] if c.isalnum() or c == "."))
        try:
            os.link(src, inp)
        except OSError:
            inp = Path(src)
        yield ToolInput(inp, Sandbox(read_files=[inp], write_dirs=[Path(d) for d in write_dirs],
                                     mode=getattr(settings, "media_sandbox", "auto")), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
