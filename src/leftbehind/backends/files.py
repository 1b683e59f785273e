"""What the file stores (TinyDB, SQLite) share about their files: may this process write one.

A store file is written through its folder (TinyDB replaces it) or in place by a library that
does not ask (SQLite), and root may write any file whatever its mode, so a store made read-only
with ``chmod 444`` would be written all the same if the system alone were asked. Both backends
ask :func:`read_only_reason` instead, which reads the mode too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from leftbehind.errors import StoreIOError

__all__ = ["read_only_reason"]


def read_only_reason(path: Path, what: str) -> str | None:
    """Why this process must not write ``path`` (a file or a folder), or ``None`` if it may (or
    ``path`` does not exist). ``what`` names it in the reason (``"the file"``).

    A mode without the owner-write bit is a reason even for root (who :func:`os.access` says may
    write anything); so is whatever :func:`os.access` refuses (another user's file, a read-only
    file system).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreIOError(path, "stat", exc) from exc
    if not st.st_mode & stat.S_IWUSR:
        return f"{what} has mode {stat.S_IMODE(st.st_mode):04o}, without the owner-write bit"
    if not os.access(path, os.W_OK):
        return f"this process may not write {what}"
    return None
