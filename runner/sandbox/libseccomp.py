"""The few libseccomp calls the child's filter needs, through ctypes.

The child used pyseccomp, whose import runs ``/sbin/ldconfig -p`` twice (``ctypes.util.
find_library``) and imports subprocess, shutil and tempfile: ~15 ms of every cold start
(``bench/bench_runner.py`` (b)). This opens the library by its soname, as the dynamic linker
does for a program linked against it, and calls the same functions pyseccomp calls, with the
same arguments: ``tests/runner/test_libseccomp.py`` checks that both give the kernel the same
BPF program, byte for byte.
"""

from __future__ import annotations

import ctypes
import os
from typing import NamedTuple

SONAME = "libseccomp.so.2"  # the library's ABI since 2012 (Debian's libseccomp2)

ALLOW = 0x7FFF0000  # SCMP_ACT_ALLOW
# Comparison operators of ``struct scmp_arg_cmp`` (seccomp.h's enum scmp_compare).
LT, LE, EQ, MASKED_EQ = 2, 3, 4, 7
NATIVE_ARCH = 0  # SCMP_ARCH_NATIVE


def errno_action(code: int) -> int:
    """SCMP_ACT_ERRNO(code): the call fails with ``code`` and does nothing."""
    return 0x00050000 | (code & 0xFFFF)


class Arg(NamedTuple):
    """One argument comparison of a rule: the argument at ``position`` (0-5) ``op`` ``value``
    (for MASKED_EQ: ``(argument & value) == masked``)."""

    position: int
    op: int
    value: int
    masked: int = 0


class _ArgCmp(ctypes.Structure):
    _fields_ = [  # struct scmp_arg_cmp
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def open_library() -> ctypes.CDLL:
    """The library, with its functions' C types declared. Must be called before Landlock and
    seccomp close the file system: opening it reads the file and maps it executable."""
    lib = ctypes.CDLL(SONAME)
    try:
        return _declare(lib)
    except AttributeError as exc:  # a library without one of them: the layer is missing
        raise OSError(f"{SONAME} lacks a function the filter needs: {exc}") from None


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    lib.seccomp_init.argtypes = (ctypes.c_uint32,)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_release.argtypes = (ctypes.c_void_p,)
    lib.seccomp_release.restype = None
    lib.seccomp_syscall_resolve_name_arch.argtypes = (ctypes.c_uint32, ctypes.c_char_p)
    lib.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
    lib.seccomp_rule_add_array.argtypes = (
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_void_p,
    )
    lib.seccomp_rule_add_array.restype = ctypes.c_int
    lib.seccomp_load.argtypes = (ctypes.c_void_p,)
    lib.seccomp_load.restype = ctypes.c_int
    lib.seccomp_export_bpf.argtypes = (ctypes.c_void_p, ctypes.c_int)
    lib.seccomp_export_bpf.restype = ctypes.c_int
    return lib


def _check(status: int, what: str) -> None:
    if status < 0:  # libseccomp returns -errno
        raise OSError(-status, f"{what}: {os.strerror(-status)}")


class Filter:
    """A filter under construction (``seccomp_init``): add rules, then load it into this
    process or export its BPF program. ``close`` frees it."""

    def __init__(self, lib: ctypes.CDLL, default_action: int) -> None:
        self._lib = lib
        self._ctx = lib.seccomp_init(default_action)
        if not self._ctx:
            raise OSError("seccomp_init failed")

    def add_rule(self, action: int, name: str, *args: Arg) -> None:
        """``action`` for the system call ``name`` when every comparison in ``args`` holds.
        OSError for a name this architecture lacks (alarm on arm64) or libseccomp refuses."""
        number = self._lib.seccomp_syscall_resolve_name_arch(NATIVE_ARCH, name.encode())
        comparisons = (_ArgCmp * len(args))(*(_ArgCmp(*arg) for arg in args))
        status = self._lib.seccomp_rule_add_array(self._ctx, action, number, len(args), comparisons)
        _check(status, f"seccomp_rule_add({name})")

    def load(self) -> None:
        """Install the filter on this process, for good."""
        _check(self._lib.seccomp_load(self._ctx), "seccomp_load")

    def export_bpf(self, fd: int) -> None:
        """Write the BPF program the kernel would get to ``fd``."""
        _check(self._lib.seccomp_export_bpf(self._ctx, fd), "seccomp_export_bpf")

    def close(self) -> None:
        """Free the filter (a loaded filter stays loaded)."""
        if self._ctx:
            self._lib.seccomp_release(self._ctx)
            self._ctx = None
