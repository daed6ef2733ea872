"""Where data files are looked for, and their checksums: shared by MNIST and the text sets.

A data set ``name`` is looked for, in order, under the ``root`` a caller passes, then each folder
of ``$ZEROGRAD_DATA`` (``os.pathsep``-separated), then the user cache (``cache_dir()``); under
each base, in ``base/name``, in ``base`` itself and in any extra sub-folders the data set names
(torchvision's layout, for instance).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["cache_dir", "search_folders", "sha256_file"]


def cache_dir() -> Path:
    """The user cache folder: ``$XDG_CACHE_HOME/zerograd``, else ``~/.cache/zerograd``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zerograd"


def search_folders(name: str, root=None, also=()) -> list:
    """Every folder searched for data set ``name``, in order, as (folder, where it came from)."""
    bases = []
    if root is not None:
        bases.append((Path(root).expanduser(), "root"))
    for entry in os.environ.get("ZEROGRAD_DATA", "").split(os.pathsep):
        if entry:
            bases.append((Path(entry).expanduser(), "ZEROGRAD_DATA"))
    bases.append((cache_dir(), "cache"))
    places, seen = [], set()
    for base, origin in bases:
        for folder in (base / name, base, *(base / sub for sub in also)):
            if folder not in seen:
                seen.add(folder)
                places.append((folder, origin))
    return places


def sha256_file(path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
