"""What the kernel enforces on a query process, set once when it starts, before it opens the
store or reads a query.

- No network: a seccomp filter makes `socket` and `socketpair` fail with EAFNOSUPPORT (and
  io_uring, which could open sockets past that filter, with ENOSYS) in every thread, present
  and future. Oxigraph evaluates SERVICE by connecting itself, and nothing in pyoxigraph turns
  that off; with this filter the attempt fails inside the process, before any packet, DNS
  lookups included. Seccomp rather than Landlock: Landlock's network rules cover TCP only
  (a name lookup over UDP would still leave the machine) and need Linux 6.7.
- Memory: RLIMIT_AS caps the address space (`--query-memory`); an allocation past it fails,
  and the process ends and is replaced.
- CPU: RLIMIT_CPU, renewed before each query (`renew_cpu_limit`), ends a query process that
  outruns its time limit by a margin even if the server that should have killed it did not.

seccomp comes from libseccomp (Debian's libseccomp2) through pyseccomp; a machine without
them cannot confine query processes, and the server refuses to start rather than run open.
"""

from __future__ import annotations

import errno
import resource

import pyseccomp

NETWORK_ERRNO = errno.EAFNOSUPPORT  # what `socket` answers inside: the mark of a refused SERVICE
NETWORK_MARKS = (f"os error {NETWORK_ERRNO}", "failed to lookup address information")
CPU_MARGIN = 5  # seconds of CPU past the time limit before the kernel ends the process
_NETWORK_CALLS = ("socket", "socketpair")
_IO_URING_CALLS = ("io_uring_setup", "io_uring_enter", "io_uring_register")


def confine(memory_bytes: int) -> None:
    """Limit this process for good: no new sockets, at most `memory_bytes` of address space."""
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    rules.set_attr(pyseccomp.Attr.CTL_TSYNC, 1)  # every thread of the process, not just this one
    for call in _NETWORK_CALLS:
        rules.add_rule(pyseccomp.ERRNO(NETWORK_ERRNO), call)
    for call in _IO_URING_CALLS:
        rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), call)
    rules.load()


def renew_cpu_limit(seconds: float) -> None:
    """The kernel ends this process (SIGXCPU) once it has used `seconds` more CPU from now."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(spent + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def is_network_refusal(message: str) -> bool:
    """Whether an engine error is the sandbox refusing a connection (a SERVICE was evaluated)."""
    return any(mark in message for mark in NETWORK_MARKS)
