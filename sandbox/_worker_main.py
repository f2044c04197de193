"""The persistent interpreter that runs inside the sandbox (stdlib only; started with ``python -c``).

Protocol: one JSON request per line on fd 0 (``{"code": str, "timeout_s": float}``), one JSON reply
per line on fd 3. User output goes to the real fds 1 and 2, which the server reads and caps. A cell
that overruns its time is interrupted with SIGALRM (the session survives); a cell that does not
return to the bytecode loop is killed by the server, which then starts a new interpreter. A cell that
closes or replaces fd 1 or 2 (or closes the original ``sys.stdout``/``sys.stderr``) would hide every later
cell's output: the reply says ``blinded`` and the interpreter exits, so the server starts a fresh one.
"""

import json
import os
import resource
import signal
import sys
import traceback


class CellTimeout(BaseException):
    """Raised in the running cell when its time is up."""


def _on_alarm(signum, frame):  # type: ignore[no-untyped-def]
    raise CellTimeout()


def _cpu_ms() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime) * 1000


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _identity(fd: int) -> object:
    try:
        info = os.fstat(fd)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _blinded(outputs: dict[int, object]) -> bool:
    """The cell took away the pipes the server reads (fd 1 or 2), or closed the streams that write to them."""
    streams = (sys.__stdout__, sys.__stderr__)
    return any(_identity(fd) != identity for fd, identity in outputs.items()) or any(
        stream is None or stream.closed for stream in streams
    )


def main() -> None:
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(3), "wb", buffering=0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.close(3)
    outputs = {fd: _identity(fd) for fd in (1, 2)}
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    signal.signal(signal.SIGALRM, _on_alarm)
    for line in requests:
        request = json.loads(line)
        cpu_before = _cpu_ms()
        exit_code, interrupted = 0, False
        try:
            signal.setitimer(signal.ITIMER_REAL, float(request["timeout_s"]))
            try:
                exec(compile(request["code"], "<cell>", "exec"), namespace)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except CellTimeout:
            interrupted, exit_code = True, 128 + signal.SIGALRM
            print("CellTimeout: the cell was interrupted at the time limit", file=sys.stderr)
        except SystemExit as exc:
            exit_code = _exit_code(exc)
        except BaseException as exc:  # the cell's own error is data for the caller
            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
            exit_code = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        blinded = _blinded(outputs)
        reply = {
            "exit_code": exit_code,
            "timed_out": interrupted,
            "cpu_ms": round(_cpu_ms() - cpu_before, 3),
            "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "blinded": blinded,
        }
        replies.write(json.dumps(reply).encode() + b"\n")
        if blinded:
            return


if __name__ == "__main__":
    main()
