"""Output files written whole or not at all, and the outputs of one command committed together.

Each output is written to an unnamed file beside its target (Linux: ``O_TMPFILE``; elsewhere a
hidden temporary file) and only named at the end, so an interrupt, even SIGKILL, leaves neither a
half-written output nor, on Linux, a temporary file. A target that is not a regular file (a device
such as /dev/stdout, a FIFO, anything under /dev or /proc) is written straight, at the end.
"""

from __future__ import annotations

import csv
import errno
import heapq
import io
import json
import os
import pickle
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import IO, Any, TextIO

from scaleready.documents import SUFFIXES
from scaleready.errors import InputError, OutputError
from scaleready.report.safe_text import SPREADSHEET_CELL_CHARS, spreadsheet_text, utf8_text

TABLE_SUFFIXES = (".csv", ".xlsx", ".jsonl")
STREAM_FOLDERS = ("/dev/", "/proc/")  # outputs there are devices or streams: written straight
_CAN_BLOCK_SIGNALS = hasattr(signal, "pthread_sigmask")  # POSIX
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}  # O_TMPFILE unsupported


class OutputSet:
    """Outputs committed together: each written beside its target, all put in place at the end.

    A context manager: whatever is not committed when the block ends is discarded.
    """

    def __init__(self) -> None:
        self._staged: list[_Staged] = []

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def stage(self, target: Path) -> Path:
        """Where to write ``target``'s content now; it appears at ``target`` only on commit."""
        staged = _Staged.open(Path(target))
        self._staged.append(staged)
        return staged.path

    def open_text(self, target: Path) -> StagedText:
        """A text file to write ``target``'s content into now, as stage() does."""
        return StagedText(target, self.stage(target))

    def commit(self) -> None:
        """Put every output in place; SIGINT and SIGTERM wait until that is done."""
        with _signals_deferred():
            for staged in self._staged:
                staged.name_beside_target()
            for staged in self._staged:
                staged.put_in_place()
        self.discard()

    def discard(self) -> None:
        for staged in self._staged:
            staged.close()
        self._staged.clear()


class StagedText:
    """A staged output written as text; an OS error (disk full...) names the target."""

    def __init__(self, target: Path, path: Path) -> None:
        self.target = target
        with writing(target):
            self._handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def write(self, text: str) -> None:
        with writing(self.target):
            self._handle.write(text)

    def close(self) -> None:
        with writing(self.target):
            self._handle.close()


class _Staged:
    """One output being written: an unnamed file beside its target, or the content for a stream.

    ``fd`` is the unnamed file (O_TMPFILE) while it has no name; ``folder`` an open handle on the
    target's folder (None for a stream); ``hidden`` the temporary name beside the target, if any.
    """

    def __init__(self, target: Path, path: Path, fd: int | None, folder: int | None) -> None:
        self.target, self.path, self._fd, self._folder = target, path, fd, folder
        self._hidden = path.name if fd is None and folder is not None else None

    @classmethod
    def open(cls, target: Path) -> _Staged:
        if is_stream(target):
            return cls._for_stream(target)
        target = Path(os.path.realpath(target))  # through a symlink: the file it points to
        if target.is_dir():
            raise OutputError("is a folder; name a file", source=str(target))
        with _naming_the(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            folder = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            with _naming_the(target):
                fd = _unnamed_file(target.parent)
                if fd is not None:
                    return cls(target, Path(f"/proc/self/fd/{fd}"), fd, folder)
                handle, name = tempfile.mkstemp(
                    dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
                )
                os.close(handle)
                return cls(target, Path(name), None, folder)
        except BaseException:
            os.close(folder)
            raise

    @classmethod
    def _for_stream(cls, target: Path) -> _Staged:
        """A device or FIFO gets its content at commit time, from an unnamed temporary file."""
        fd = _unnamed_file(Path(tempfile.gettempdir()))
        if fd is not None:
            return cls(target, Path(f"/proc/self/fd/{fd}"), fd, None)
        handle, name = tempfile.mkstemp(suffix=".tmp")
        os.close(handle)
        return cls(target, Path(name), None, None)

    def name_beside_target(self) -> None:
        """Give an unnamed file a hidden name beside its target (the step that can fail)."""
        if self._folder is None or self._hidden is not None:
            return
        while self._hidden is None:
            name = f".{self.target.name}.{secrets.token_hex(4)}.tmp"
            try:
                os.link(self.path, name, dst_dir_fd=self._folder, follow_symlinks=True)
            except FileExistsError:
                continue
            except OSError as error:
                raise _cannot_write(self.target, error) from None
            self._hidden = name

    def put_in_place(self) -> None:
        if self._folder is None:
            self._write_stream()
            return
        folder, hidden = self._folder, self._hidden
        assert hidden is not None, "named beside its target (name_beside_target) first"
        with _naming_the(self.target):
            if self._fd is None:  # mkstemp makes it private; outputs are ordinary files
                os.chmod(hidden, 0o666 & ~_umask(), dir_fd=folder)
            os.replace(hidden, self.target.name, src_dir_fd=folder, dst_dir_fd=folder)
        self._hidden = None

    def _write_stream(self) -> None:
        """Append, so that /dev/stdout redirected to a file (``>> log``) is not truncated."""
        sys.stdout.flush()  # what was printed before comes before it
        with (
            _naming_the(self.target),
            open(self.path, "rb") as content,
            open(self.target, "ab") as stream,
        ):
            shutil.copyfileobj(content, stream)

    def close(self) -> None:
        """Forget the content unless it was put in place."""
        if self._hidden is not None:
            with suppress(FileNotFoundError):
                os.unlink(self._hidden, dir_fd=self._folder)
            self._hidden = None
        if self._folder is None and self._fd is None:
            self.path.unlink(missing_ok=True)  # a stream's named temporary file
        for fd in (self._fd, self._folder):
            if fd is not None:
                os.close(fd)
        self._fd = self._folder = None


def is_stream(target: Path) -> bool:
    """True for a target that is written straight: a device, a FIFO, or a path in /dev or /proc."""
    if _goes_through_stream_folders(Path(target)):
        return True
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def same_file(a: Path, b: Path) -> bool:
    """True if two paths name one file (or, where one does not exist yet, one place)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _goes_through_stream_folders(path: Path) -> bool:
    """True if the path, or a symlink it leads through, is in /dev or /proc (as /dev/stdout is)."""
    for _ in range(40):  # the kernel's own limit on symlinks followed
        path = Path(os.path.normpath(path.absolute()))
        if str(path).startswith(STREAM_FOLDERS):
            return True
        if not path.is_symlink():
            return False
        path = path.parent / os.readlink(path)
    return False


def _unnamed_file(folder: Path) -> int | None:
    """A file with no name yet in ``folder`` (Linux O_TMPFILE), or None where there is none."""
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o666)
    except OSError as error:
        if error.errno in _NO_TMPFILE:
            return None
        raise


@contextmanager
def _naming_the(target: Path) -> Iterator[None]:
    """Report an OS error about an output as a problem with its target, not a temporary file."""
    try:
        yield
    except OSError as error:
        raise _cannot_write(target, error) from None


def writing(target: Path) -> AbstractContextManager[None]:
    """Around the code that writes an output: a failure names the target (disk full...)."""
    return _naming_the(target)


def _cannot_write(target: Path, error: OSError) -> OutputError:
    reason = error.strerror or str(error)
    return OutputError(f"cannot write it: {reason}", source=str(target))


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM arrive only after the block: outputs are all put in place, or none."""
    if threading.current_thread() is not threading.main_thread() or not _CAN_BLOCK_SIGNALS:
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Where to write ``target``; it appears there whole, only if the block completes."""
    with OutputSet() as output:
        path = output.stage(target)
        yield path
        output.commit()


def write_text(target: Path, text: str) -> None:
    with atomic_path(target) as path, writing(target):
        path.write_text(text, encoding="utf-8")


def check_table_suffix(path: Path) -> None:
    if path.suffix.lower() not in TABLE_SUFFIXES:
        choices = ", ".join(TABLE_SUFFIXES)
        raise InputError(f"{path}: a summary is written as {choices}; choose one of those")


def write_table(target: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    """Rows as CSV, XLSX or JSON lines, chosen by the file's suffix."""
    check_table_suffix(target)
    with atomic_path(target) as temporary:
        write_table_staged(temporary, target, columns, rows)


def write_table_staged(path: Path, target: Path, columns: Sequence[str], rows: Iterable[dict]):
    """Rows into a staged ``path``, in the format of ``target``'s suffix; rows may stream."""
    check_table_suffix(target)
    writer = {".csv": _csv, ".xlsx": _xlsx, ".jsonl": _jsonl}[target.suffix.lower()]
    with writing(target):
        writer(path, columns, rows)


class RowSpool:
    """Summary rows kept on disk (an unnamed temporary file) until the summary is written."""

    def __init__(self, batch_size: int = 250) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._batch: list[dict] = []
        self._batch_size = batch_size
        self.count = 0

    def add(self, row: dict) -> None:
        self._batch.append(row)
        self.count += 1
        if len(self._batch) >= self._batch_size:
            self._flush()

    def rows(self) -> Iterator[dict]:
        """Every row added, in order, read back once."""
        self._flush()
        self._file.seek(0)
        while True:
            try:
                yield from pickle.load(self._file)  # our own unnamed file: no one else writes it
            except EOFError:
                return

    def sorted_rows(self, key: Callable[[dict], Any], run_rows: int = 20_000) -> Iterator[dict]:
        """Every row added, in the order of ``key`` (equal keys in the order added), read back
        once. Runs of ``run_rows`` rows are sorted in memory and put back on disk, then merged:
        however large the round, memory holds one run, then a batch of each."""
        with tempfile.TemporaryFile() as runs_file:
            runs = []
            for run in _chunks(self.rows(), run_rows):
                run.sort(key=key)
                start = runs_file.tell()
                for batch in _chunks(run, self._batch_size):
                    pickle.dump(batch, runs_file, protocol=pickle.HIGHEST_PROTOCOL)
                runs.append((start, runs_file.tell()))
            yield from heapq.merge(*(_run(runs_file, *run) for run in runs), key=key)

    def close(self) -> None:
        self._file.close()

    def _flush(self) -> None:
        if self._batch:
            pickle.dump(self._batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._batch = []


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """Rows ``size`` at a time."""
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run(file: IO[bytes], start: int, end: int) -> Iterator[dict]:
    """The rows of one sorted run, bytes ``start`` to ``end`` of a file other runs share (each
    read seeks first: heapq.merge takes from the runs in turn)."""
    position = start
    while position < end:
        file.seek(position)
        batch = pickle.load(file)  # our own unnamed file: no one else writes it
        position = file.tell()
        yield from batch


def _csv(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        _write_csv(handle, columns, rows)


def _jsonl(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> None:
    """Data for programs, so texts are kept as they are (only made writable as UTF-8)."""
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            record = dict(zip(columns, map(_json_value, _values(row, columns)), strict=True))
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _json_value(value: object) -> object:
    return utf8_text(value) if isinstance(value, str) else value


def _xlsx(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> None:
    from openpyxl import Workbook  # imported here: only XLSX output needs it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("summary")
    sheet.append(_xlsx_cells(sheet, columns))
    for row in rows:
        sheet.append(_xlsx_cells(sheet, _values(row, columns)))
    workbook.save(path)


def _xlsx_cells(sheet, values: Iterable[object]) -> list:
    """Numbers as numbers; every text as a string cell, never a formula or an error code."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in (spreadsheet_cell(v, SPREADSHEET_CELL_CHARS) for v in values):
        if value == "":
            value = None  # an empty cell, not an empty text
        elif isinstance(value, str):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"  # openpyxl would make "=..." a formula and "#N/A" an error
            value = cell
        cells.append(value)
    return cells


def csv_text(columns: Sequence[str], rows: Iterable[dict]) -> str:
    """Rows as CSV text, for printing."""
    buffer = io.StringIO(newline="")
    _write_csv(buffer, columns, rows)
    return buffer.getvalue()


def _write_csv(handle: TextIO, columns: Sequence[str], rows: Iterable[dict]) -> None:
    """The header and rows, every cell made safe to open in a spreadsheet."""
    writer = csv.writer(handle)
    writer.writerow(map(spreadsheet_cell, columns))
    for row in rows:
        writer.writerow(map(spreadsheet_cell, _values(row, columns)))


def spreadsheet_cell(value: object, max_chars: int | None = None) -> object:
    """A number stays a number (a negative score too); anything else is text that a spreadsheet
    shows and never runs: the one guard every CSV and XLSX output goes through."""
    if value is None:
        return ""
    if isinstance(value, int | float):  # bool is an int
        return value
    return spreadsheet_text(str(value), max_chars)


def _values(row: dict, columns: Sequence[str]) -> list[object]:
    """The row's value of each column, in column order; a missing one is empty."""
    return [row.get(column, "") for column in columns]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def clash(targets: dict[str, Path | None], inputs: Iterable[Path | str | None]) -> str | None:
    """Why an output would overwrite an input or another output (by option name), or None."""
    named = [(option, Path(t)) for option, t in targets.items() if t is not None]
    named = [(option, target) for option, target in named if not is_stream(target)]
    sources = [Path(source) for source in inputs if source is not None]
    for number, (option, target) in enumerate(named):
        for other_option, other in named[:number]:
            if same_file(target, other):
                return f"{other_option} and {option} both name {target}: give each its own file"
        for source in sources:
            if _overwrites(target, source):
                return f"{option} {target} would overwrite the input {source}; choose another file"
    return None


def _overwrites(target: Path, source: Path) -> bool:
    """True if writing ``target`` would replace ``source``, or a profile in the folder source."""
    if source.is_dir():
        return (
            target.suffix.lower() in SUFFIXES
            and target.is_file()
            and same_file(target.parent, source)
        )
    return same_file(target, source)
