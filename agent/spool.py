"""A durable, bounded, in-order spool of encoded Kafka messages on local disk.

When Kafka is slow or down, the agent's publisher puts batches here instead of holding them in
memory; when Kafka is back they are replayed in the order they were spooled. The spool is a folder
of segment files (``00000001.spool`` …). Each record is framed as::

    magic (4 bytes) | length (4) | crc32 of the body (4) | rows (4) | body
    body = key length (2) | key | headers as JSON length (4) | headers JSON | value

A crash can leave a torn record at the end of the last segment: opening the spool keeps every
whole record before it and cuts the rest (counted in ``corrupt_records``). What has been replayed
and acknowledged is tracked by a cursor file, so after a restart replay resumes where it stopped
(a message sent but not yet acknowledged is sent again: at least once).

Durability (``fsync``): ``always`` syncs each append before it returns (survives power loss, costs
a disk flush per batch); ``interval`` (default) syncs at most every ``fsync_interval_seconds`` and
on close (a crash of the machine may lose the last interval; a crash of the process loses nothing,
the OS has the bytes); ``never`` leaves it to the OS.

Bounded: appends beyond ``max_bytes`` either drop the new message (``drop_newest``) or delete the
oldest segments until it fits (``drop_oldest``); either way every dropped record's rows are counted.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.errors import AgentError

__all__ = ["Spool", "SpoolError", "SpoolStats", "SpooledMessage"]

log = logging.getLogger(__name__)

_MAGIC = b"MMSP"
_HEADER = struct.Struct(">4sIII")  # magic, body length, crc32, rows
_SEGMENT_BYTES = 8 * 1_048_576  # a new segment after this many bytes: old ones can be deleted whole
_POLICIES = ("drop_oldest", "drop_newest")
_FSYNC = ("always", "interval", "never")


class SpoolError(AgentError):
    """The spool folder cannot be used (permissions, a setting out of range)."""


@dataclass(frozen=True, slots=True)
class SpooledMessage:
    """A message as it was spooled, and where it is (to acknowledge it once sent)."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    rows: int
    position: tuple[int, int]  # (segment number, offset just after the record)


@dataclass
class SpoolStats:
    appended_records: int = 0
    appended_rows: int = 0
    dropped_records: int = 0
    dropped_rows: int = 0
    corrupt_records: int = 0  # torn at the end of a segment by a crash, cut on open
    bytes: int = 0  # on disk, not yet acknowledged


def _encode(key: bytes, value: bytes, headers: list[tuple[str, bytes]], rows: int) -> bytes:
    header_json = json.dumps([[name, data.decode("latin-1")] for name, data in headers]).encode()
    body = struct.pack(">H", len(key)) + key + struct.pack(">I", len(header_json)) + header_json + value
    return _HEADER.pack(_MAGIC, len(body), zlib.crc32(body), rows) + body


def _decode(body: bytes) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    (key_length,) = struct.unpack_from(">H", body, 0)
    key = body[2 : 2 + key_length]
    (json_length,) = struct.unpack_from(">I", body, 2 + key_length)
    start = 6 + key_length
    headers = [(name, data.encode("latin-1")) for name, data in json.loads(body[start : start + json_length])]
    return key, body[start + json_length :], headers


class Spool:
    """The spool in ``folder`` (created if needed). Thread-safe: one writer and one replayer."""

    def __init__(
        self,
        folder: Path,
        max_bytes: int,
        *,
        policy: str = "drop_oldest",
        fsync: str = "interval",
        fsync_interval_seconds: float = 1.0,
        segment_bytes: int | None = None,
    ) -> None:
        if policy not in _POLICIES or fsync not in _FSYNC or max_bytes <= 0:
            raise SpoolError(f"spool: policy in {_POLICIES}, fsync in {_FSYNC}, max_bytes > 0")
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"cannot create the spool folder {self.folder}: {exc}") from exc
        self.max_bytes = max_bytes
        self.policy = policy
        self.fsync = fsync
        self.fsync_interval = fsync_interval_seconds
        # At least 8 segments fit, so drop_oldest frees an eighth of the spool, never all of it.
        self.segment_bytes = segment_bytes or max(1, min(_SEGMENT_BYTES, max_bytes // 8))
        self.stats = SpoolStats()
        self._lock = threading.Lock()
        self._last_sync = time.monotonic()
        self._cursor = self._read_cursor()
        self._rows: dict[int, int] = {}  # rows per segment, for counting drops of whole segments
        for number in self._segments():
            self._recover(number)
        self._writer: int | None = None
        self.stats.bytes = self._pending_bytes()

    # --- files --------------------------------------------------------------------------------
    def _path(self, number: int) -> Path:
        return self.folder / f"{number:08d}.spool"

    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.folder.glob("*.spool") if p.stem.isdigit())

    def _read_cursor(self) -> tuple[int, int]:
        try:
            segment, offset = json.loads((self.folder / "cursor").read_text())
            return int(segment), int(offset)
        except (OSError, ValueError, TypeError):
            return (0, 0)

    def _write_cursor(self) -> None:
        staging = self.folder / "cursor.new"
        staging.write_text(json.dumps(list(self._cursor)))
        staging.replace(self.folder / "cursor")

    def _recover(self, number: int) -> None:
        """Count a segment's rows, cutting a torn record at its end."""
        path = self._path(number)
        data = path.read_bytes()
        offset, rows = 0, 0
        while offset + _HEADER.size <= len(data):
            magic, length, crc, count = _HEADER.unpack_from(data, offset)
            end = offset + _HEADER.size + length
            if magic != _MAGIC or end > len(data) or zlib.crc32(data[offset + _HEADER.size : end]) != crc:
                break
            offset, rows = end, rows + count
        if offset < len(data):
            self.stats.corrupt_records += 1
            log.warning("spool %s: cut a torn record at byte %d (a crash while writing)", path.name, offset)
            with path.open("r+b") as handle:
                handle.truncate(offset)
        self._rows[number] = rows

    def _pending_bytes(self) -> int:
        total = 0
        for number in self._segments():
            size = self._path(number).stat().st_size
            total += size - (self._cursor[1] if number == self._cursor[0] else 0)
        return total

    # --- writing ------------------------------------------------------------------------------
    def append(self, key: bytes, value: bytes, headers: list[tuple[str, bytes]], rows: int) -> bool:
        """Spool one message. False when it was dropped (``drop_newest`` and the spool is full)."""
        record = _encode(key, value, headers, rows)
        with self._lock:
            while self.stats.bytes + len(record) > self.max_bytes:
                if self.policy == "drop_newest" or not self._drop_oldest_segment():
                    self.stats.dropped_records += 1
                    self.stats.dropped_rows += rows
                    return False
            number = self._writing_segment(len(record))
            with self._path(number).open("ab") as handle:
                handle.write(record)
                if self.fsync == "always" or (
                    self.fsync == "interval" and time.monotonic() - self._last_sync >= self.fsync_interval
                ):
                    handle.flush()
                    os.fsync(handle.fileno())
                    self._last_sync = time.monotonic()
            self._rows[number] = self._rows.get(number, 0) + rows
            self.stats.bytes += len(record)
            self.stats.appended_records += 1
            self.stats.appended_rows += rows
            return True

    def _writing_segment(self, size: int) -> int:
        segments = self._segments()
        if not segments:
            self._writer = max(self._cursor[0], 0) + 1
            return self._writer
        last = segments[-1]
        if self._path(last).stat().st_size + size > self.segment_bytes and self._path(last).stat().st_size:
            self._writer = last + 1
            return self._writer
        return last

    def _drop_oldest_segment(self) -> bool:
        """Delete the oldest segment (counting its unreplayed records); False if only one is left."""
        segments = self._segments()
        if len(segments) < 2:  # never delete the one being written: drop the new message instead
            return False
        oldest = segments[0]
        dropped = sum(1 for _ in self._records(oldest, self._cursor[1] if oldest == self._cursor[0] else 0))
        rows = self._rows.pop(oldest, 0)
        size = self._path(oldest).stat().st_size - (self._cursor[1] if oldest == self._cursor[0] else 0)
        self._path(oldest).unlink()
        self.stats.dropped_records += dropped
        self.stats.dropped_rows += rows
        self.stats.bytes -= size
        if self._cursor[0] <= oldest:
            self._cursor = (oldest + 1, 0)
            self._write_cursor()
        return True

    # --- reading ------------------------------------------------------------------------------
    def _records(self, number: int, start: int) -> Iterator[tuple[bytes, int, int]]:
        data = self._path(number).read_bytes()
        offset = start
        while offset + _HEADER.size <= len(data):
            _, length, _, rows = _HEADER.unpack_from(data, offset)
            end = offset + _HEADER.size + length
            if end > len(data):
                return
            yield data[offset + _HEADER.size : end], rows, end
            offset = end

    def replay(self) -> Iterator[SpooledMessage]:
        """Spooled messages not yet acknowledged, oldest first (a snapshot of what is there now)."""
        with self._lock:
            segments = [n for n in self._segments() if n >= self._cursor[0]]
            cursor = self._cursor
        for number in segments:
            start = cursor[1] if number == cursor[0] else 0
            for body, rows, end in self._records(number, start):
                key, value, headers = _decode(body)
                yield SpooledMessage(key, value, headers, rows, (number, end))

    def ack(self, message: SpooledMessage) -> None:
        """The message (and all before it) reached Kafka: forget it; delete segments done with."""
        number, end = message.position
        with self._lock:
            if (number, end) <= self._cursor:
                return
            for done in [n for n in self._segments() if n < number]:
                self.stats.bytes -= self._path(done).stat().st_size - (
                    self._cursor[1] if done == self._cursor[0] else 0
                )
                self._rows.pop(done, None)
                self._path(done).unlink()
            previous = self._cursor[1] if self._cursor[0] == number else 0
            self.stats.bytes -= end - previous
            self._cursor = (number, end)
            self._rows[number] = max(0, self._rows.get(number, 0) - message.rows)
            path = self._path(number)
            if end >= path.stat().st_size and number != self._segments()[-1]:
                path.unlink()
                self._rows.pop(number, None)
                self._cursor = (number + 1, 0)
            self._write_cursor()

    def close(self) -> None:
        with self._lock:
            for number in self._segments()[-1:]:
                with self._path(number).open("ab") as handle:
                    handle.flush()
                    os.fsync(handle.fileno())
