"""Files of the served release are used only while their bytes are those their checksums give.

A release is checked whole before it is served (release.check_release); a file damaged after
that (written in place, truncated, replaced) must not be sent under the intact file's ETag, nor
searched. Each server process reads a file whole once and remembers it by its status (size,
inode, device, modification and status-change times: every write moves the last, and no program
can set it); a file whose status changed is read again, and one that no longer matches is
refused with 503, naming it relative to the releases directory.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ...release import Release, sha256_of
from .errors import ServiceUnavailable

_checked: dict[Path, tuple[int, ...]] = {}  # file -> its status when its bytes last matched
_checking = threading.Lock()
MAX_CHECKED = 1000  # files remembered per process (a few dozen per release)


def check_bytes(release: Release, path: Path, sha256: str) -> None:
    """ServiceUnavailable unless the file's bytes are those of its checksum (read again only
    when its status changed since they last matched)."""
    shown = f"{release.version}/{path.name}"
    try:
        status = os.stat(path)
    except OSError:
        raise ServiceUnavailable(f"{shown} is missing from the release on this server; "
                                 "it must be restored or the release built again") from None
    key = (status.st_size, status.st_ino, status.st_dev, status.st_mtime_ns, status.st_ctime_ns)
    if _checked.get(path) == key:
        return
    with _checking:  # one read at a time: a changed file is read once, not once per request
        if _checked.get(path) == key:
            return
        if sha256_of(path) != sha256:
            _checked.pop(path, None)
            raise ServiceUnavailable(f"{shown} no longer matches its checksum (the file on this server is "
                                     "damaged), so it is not used; it must be restored or the release built again")
        if len(_checked) >= MAX_CHECKED:
            _checked.clear()
        _checked[path] = key
