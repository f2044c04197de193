"""A tiny seccomp filter, assembled by hand, that denies Unix-domain sockets.

A network namespace does not stop ``connect()`` to a path-based Unix socket that is visible in the
filesystem, so the sandbox denies ``socket(AF_UNIX, ...)`` outright (``EAFNOSUPPORT``) and
``io_uring_setup`` (io_uring can open sockets without the ``socket`` syscall). Everything else is
allowed. The program is classic BPF, handed to bubblewrap with ``--seccomp FD``; writing it by hand
avoids a dependency on libseccomp bindings. Only x86-64 is supported; other machines get no filter
and the isolation report says so.
"""

from __future__ import annotations

import platform
import struct

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_NR_SOCKET = 41
_NR_IO_URING_SETUP = 425
_AF_UNIX = 1
_EAFNOSUPPORT = 97
_ENOSYS = 38

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000

# offsets into struct seccomp_data: nr (u32), arch (u32), ip (u64), args[6] (u64 each)
_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG0_LOW = 16


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def seccomp_supported() -> bool:
    """True when this module can build a filter for the running machine."""
    return platform.machine() == "x86_64"


def deny_unix_sockets_bpf() -> bytes:
    """The BPF program (``struct sock_filter[]`` bytes) that bubblewrap installs."""
    program = [
        _insn(_LD_W_ABS, 0, 0, _OFF_ARCH),
        _insn(_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64),  # x86-64: go on; anything else (i386, ...): ENOSYS
        _insn(_RET_K, 0, 0, _RET_ERRNO | _ENOSYS),
        _insn(_LD_W_ABS, 0, 0, _OFF_NR),
        _insn(_JGE_K, 0, 1, _X32_SYSCALL_BIT),  # the x32 ABI could reach socket() under another number
        _insn(_RET_K, 0, 0, _RET_ERRNO | _ENOSYS),
        _insn(_JEQ_K, 0, 1, _NR_IO_URING_SETUP),
        _insn(_RET_K, 0, 0, _RET_ERRNO | _ENOSYS),
        _insn(_JEQ_K, 1, 0, _NR_SOCKET),
        _insn(_RET_K, 0, 0, _RET_ALLOW),
        _insn(_LD_W_ABS, 0, 0, _OFF_ARG0_LOW),
        _insn(_JEQ_K, 0, 1, _AF_UNIX),
        _insn(_RET_K, 0, 0, _RET_ERRNO | _EAFNOSUPPORT),
        _insn(_RET_K, 0, 0, _RET_ALLOW),
    ]
    return b"".join(program)
