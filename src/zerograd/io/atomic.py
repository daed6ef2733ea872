"""``atomic_write``: every file the library writes appears whole or not at all.

The bytes go to a temporary file in the target's directory; when the ``with`` block ends without
an error the file is flushed, ``os.fsync``-ed and renamed onto the target with ``os.replace``
(atomic on POSIX and Windows when both names are on one file system), then the directory is
fsync-ed so the rename itself survives a power cut. If anything fails before that, the temporary
file is removed and whatever was at ``path`` before is untouched. A process killed with SIGKILL
cannot clean up: it may leave a ``.<name>.<random>.tmp`` file beside the target, never a
half-written target.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets

__all__ = ["atomic_write"]

_WRITE_MODES = ("wb", "w", "wt")


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", *, encoding: str | None = None):
    """Open a temporary file that replaces ``path`` atomically when the ``with`` block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (re)write; its directory must exist.
    mode : {"wb", "w", "wt"}
        Binary (default) or text.
    encoding : str, optional
        Text mode only; UTF-8 unless given.

    Yields
    ------
    file object
        Write to it; do not close it yourself.

    Raises
    ------
    ValueError
        If ``mode`` is not a write mode, or ``encoding`` is given in binary mode.
    OSError
        Of the original type and errno (a full disk, no permission ...), naming ``path`` and saying
        that nothing there was changed; no temporary file is left.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> target = os.path.join(d, "notes.txt")
    >>> with atomic_write(target, "w") as f:
    ...     _ = f.write("epoch 1")
    >>> open(target).read()
    'epoch 1'
    >>> try:
    ...     with atomic_write(target, "w") as f:
    ...         _ = f.write("half of epoch 2")
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> open(target).read(), sorted(os.listdir(d))
    ('epoch 1', ['notes.txt'])
    """
    if mode not in _WRITE_MODES:
        raise ValueError(
            f"atomic_write: mode must be one of {_WRITE_MODES}, got {mode!r} (appending or reading "
            "cannot be atomic; read the old file, then write the whole new one)."
        )
    binary = "b" in mode
    if binary and encoding is not None:
        raise ValueError("atomic_write: encoding is only for text modes ('w'), not 'wb'.")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = _create_temp(directory, os.path.basename(path))
    except OSError as e:
        raise _naming(e, path, "could not create a temporary file beside") from None
    try:
        kwargs = {} if binary else {"encoding": encoding or "utf-8"}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        # KeyboardInterrupt too: the old file stays, the half-written one goes
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):  # a full disk, a quota, an I/O error: say which file
            raise _naming(e, path, "could not write") from None
        raise
    _fsync_directory(directory)


def _naming(e: OSError, path: str, what: str) -> OSError:
    """``e`` (same type and errno) with a message naming ``path`` and saying nothing changed."""
    reason = e.strerror or str(e)
    hint = " Free some space or write elsewhere." if e.errno == errno.ENOSPC else ""
    message = (
        f"atomic_write: {what} {path!r} ({reason}); whatever was there before is unchanged and "
        f"no partial file was left.{hint}"
    )
    return type(e)(e.errno, message) if e.errno is not None else type(e)(message)


def _create_temp(directory: str, name: str):
    """Create ``.<name>.<random>.tmp`` in ``directory`` with O_EXCL (never reuses a file).

    Created with mode 0o666 so the umask applies, as for a file opened normally
    (``tempfile.mkstemp`` would make every saved file private, 0o600).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"atomic_write: could not create a temporary file in {directory!r}.")


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; a no-op where directories cannot be opened (Windows)."""
    if os.name == "nt":
        return
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass  # some file systems refuse to fsync a directory; the data itself is synced
    finally:
        os.close(dfd)
