"""The child's own libseccomp binding gives the kernel what pyseccomp gave it.

``runner.sandbox.libseccomp`` replaced pyseccomp in the child (its import cost ~15 ms of each
cold start). The filter both build from ``runner.sandbox.syscalls.rules`` is exported as the BPF
program the kernel would load, and compared byte for byte.
"""

from __future__ import annotations

import contextlib
import errno
import os

import pyseccomp  # type: ignore[import-untyped]
import pytest

from runner.sandbox import libseccomp, syscalls


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _export(write: object) -> bytes:
    """The bytes ``write(fd)`` writes to a pipe."""
    read_end, write_end = os.pipe()
    try:
        write(write_end)  # type: ignore[operator]
        os.close(write_end)
        write_end = -1
        return _read_all(read_end)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def ours(pid: int) -> bytes:
    flt = libseccomp.Filter(libseccomp.open_library(), libseccomp.errno_action(errno.EPERM))
    try:
        for name, args in syscalls.rules(pid):
            with contextlib.suppress(OSError):  # a call this architecture lacks, as the child
                flt.add_rule(libseccomp.ALLOW, name, *args)
        return _export(flt.export_bpf)
    finally:
        flt.close()


def pyseccomps(pid: int) -> bytes:
    flt = pyseccomp.SyscallFilter(pyseccomp.ERRNO(errno.EPERM))
    for name, args in syscalls.rules(pid):
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            flt.add_rule(pyseccomp.ALLOW, name, *(pyseccomp.Arg(*arg) for arg in args))
    return _export(lambda fd: flt.export_bpf(_Fd(fd)))


class _Fd:
    """pyseccomp's export wants an object with ``fileno``."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd


@pytest.mark.parametrize("pid", [1, 4242, os.getpid(), 2**22 - 1])
def test_the_childs_filter_is_the_bpf_program_pyseccomp_built(pid: int) -> None:
    program = ours(pid)
    assert len(program) > 400 and len(program) % 8 == 0  # sock_filter instructions
    assert program == pyseccomps(pid)


def test_the_filter_pins_the_childs_own_pid() -> None:
    assert ours(4242) != ours(4243)


def test_a_system_call_no_architecture_has_is_refused_not_allowed() -> None:
    flt = libseccomp.Filter(libseccomp.open_library(), libseccomp.ALLOW)
    try:
        with pytest.raises(OSError):
            flt.add_rule(libseccomp.ALLOW, "no_such_call")
    finally:
        flt.close()


def test_the_api_constants_are_libseccomps() -> None:
    assert libseccomp.ALLOW == pyseccomp.ALLOW
    assert libseccomp.errno_action(errno.EPERM) == pyseccomp.ERRNO(errno.EPERM)
    ops = (libseccomp.LT, libseccomp.LE, libseccomp.EQ, libseccomp.MASKED_EQ)
    assert ops == (pyseccomp.LT, pyseccomp.LE, pyseccomp.EQ, pyseccomp.MASKED_EQ)
