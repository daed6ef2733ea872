"""``RunFolder``: the folder one training run owns. A lock so two runs never write one folder; a
finished or interrupted run is never overwritten unless asked; nothing is left behind by a run that
failed before its first checkpoint."""

from __future__ import annotations

import os

from .config import RunError

__all__ = ["RunFolder", "RunError"]

FILES = ("config.json", "model.safetensors", "last.safetensors", "best.safetensors",
         "results.json", "metrics.csv", "curves.png")  # fmt: skip


def refuse_unwritable(option: str, path: str, purpose: str) -> None:
    """Refuse, before any work, a folder ``path`` (given as ``option``) that cannot be written:
    a file, a folder under a file, or a place where no folder can be made or written."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunError(f"{option} {path} is a file, not a folder; pass a folder {purpose}.", 2)
    existing = path
    while existing and not os.path.exists(existing):
        existing = os.path.dirname(existing)
    existing = existing or "."
    if not os.path.isdir(existing):
        raise RunError(f"{option} {path}: {existing} is a file, so the folder cannot be made.", 2)
    if not _can_create_in(existing):
        raise RunError(
            f"{option} {path}: folders cannot be made in {existing}; pass a folder you can "
            "write to.",
            2,
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunError(
            f"{option} {path}: no permission to write in {existing}; pass a folder you can "
            "write to.",
            2,
        )


def _can_create_in(folder: str) -> bool:
    """Whether a folder can be made in ``folder`` (tried, then removed): permissions alone do not
    tell for root, or for file systems such as /proc."""
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(prefix=".zerograd-probe-", dir=folder))
    except OSError:
        return False
    return True


class RunFolder:
    """The run folder at ``path``: ``check()`` before any work, ``acquire()`` to own it (creating
    it), ``release(keep=...)`` at the end."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.created = False
        self._fd = None

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def held_files(self) -> list:
        """The run files already in the folder."""
        return [name for name in FILES if os.path.exists(self.file(name))]

    def describe(self) -> str:
        """``a finished run`` / ``an interrupted run`` ..., for messages."""
        if os.path.exists(self.file("results.json")):
            return "a finished run"
        if os.path.exists(self.file("last.safetensors")):
            return "an interrupted run"
        return "files of an earlier run"

    def check(self, resume: bool, overwrite: bool) -> None:
        """Refuse, before any work, a folder this run may not write: a file, a folder without
        write permission, another run's folder (unless ``resume`` or ``overwrite``)."""
        path = self.path
        refuse_unwritable("--out", path, "for the run")
        if self._fd is None and os.path.isdir(path) and self._locked_by_another():
            raise self._busy()
        held = self.held_files()
        if resume:
            return
        if set(held) <= {"config.json", "metrics.csv"}:  # a start stopped before any checkpoint
            return
        if not overwrite:
            raise RunError(
                f"{path} already holds {self.describe()} ({', '.join(held)}); pass --resume to "
                "continue it, --overwrite to replace it, or another --out.",
                2,
            )

    def acquire(self) -> None:
        """Create the folder if needed and take its lock; a second run is refused at once."""
        import fcntl

        if not os.path.isdir(self.path):
            os.makedirs(self.path, exist_ok=True)
            self.created = True
        fd = os.open(self.path, os.O_RDONLY)
        try:  # a lock on the folder itself: the kernel drops it when the process dies, even -9
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._busy() from None
        self._fd = fd

    def _busy(self) -> RunError:
        return RunError(
            f"{self.path} is in use by another zerograd run (it holds the folder's lock); wait "
            "for it to finish, or pass another --out.",
            1,
        )

    def _locked_by_another(self) -> bool:
        """Whether another process holds the folder's lock now (tried and let go at once)."""
        import fcntl

        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing lets go of a lock taken here
        return False

    def remove(self, names) -> None:
        for name in names:
            try:
                os.remove(self.file(name))
            except FileNotFoundError:
                pass

    def release(self, keep: bool = True) -> None:
        """Let go of the lock; with ``keep=False`` (nothing worth keeping was written) remove the
        run's files and the folder too if this run made it."""
        if not keep:
            self.remove(FILES)
            if self.created:
                try:
                    os.rmdir(self.path)
                except OSError:  # something else was put there meanwhile: leave it
                    pass
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
