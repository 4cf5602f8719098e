"""The evidence verifier's reading of a bundle: the ZIP's layout, its members, and the JSON in them.

Part of the offline verifier (schemas.evidence_verifier). Whatever cannot be read, or is not laid
out as schemas.evidence specifies, becomes a `Problem` naming the file or the member.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any, NoReturn, TypeVar

import orjson

_CHUNK = 1 << 20  # bytes read from a member at a time
_UNREADABLE = (zipfile.BadZipFile, zlib.error, struct.error, OSError, EOFError, RuntimeError, ValueError)
_NOT_AS_WRITTEN = "not a bundle as written by the ledger"
_LOCAL = struct.Struct("<4s5H3L2H")  # a local file header, up to its name (30 bytes)
_END = struct.Struct("<4s4H2LH")  # the end of central directory record (22 bytes)
_END64 = struct.Struct("<4sQ2H2L4Q")  # the ZIP64 end of central directory record, without extensible data
_LOCATOR64 = struct.Struct("<4sLQL")  # the ZIP64 end of central directory locator
_DESCRIPTOR = b"PK\x07\x08"  # the optional signature of a data descriptor
_HAS_DESCRIPTOR = 0x08  # general purpose flag bit 3: CRC and sizes follow the data
_HEX = re.compile(r"[0-9a-f]{64}")
_KINDS: dict[type[Any], str] = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object"}
T = TypeVar("T")


class Problem(Exception):
    """The first thing in the bundle that does not add up."""


@contextmanager
def open_bundle(path: str | os.PathLike[str]) -> Iterator[Bundle]:
    """The bundle at `path`, once its ZIP is found laid out as the ledger writes it."""
    shown = os.fspath(path)
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed below, past the yield
    except OSError as error:
        raise Problem(f"{shown}: not a readable zip file ({error})") from error
    with file:
        try:
            archive = zipfile.ZipFile(file)
            _check_layout(file, archive.infolist(), shown)
        except _UNREADABLE as error:
            raise Problem(f"{shown}: not a readable zip file ({error})") from error
        with archive:
            yield Bundle(archive)


def _check_layout(file: IO[bytes], members: list[zipfile.ZipInfo], path: str) -> None:
    """The members lie end to end from byte 0 up to the central directory, whose end record ends the file.

    zipfile (like most readers) finds members through the central directory at the end and skips
    whatever else the file holds: another zip in front, say, which a reader going from the start
    would show instead. A bundle is refused unless every byte belongs to the archive zipfile reads.
    """
    directory, recorded = _central_directory(file, path)  # where it is; where each end record says it is
    cursor, previous = 0, None
    for info in sorted(members, key=lambda info: info.header_offset):
        if info.header_offset != cursor:
            _misplaced(path, info.header_offset - cursor, previous, info.filename if previous else "the first member")
        cursor, previous = _member_end(file, info), info.filename
    if cursor != directory:
        _misplaced(path, directory - cursor, previous, "the central directory")
    for said, actual, what in recorded:
        if said != actual:
            raise Problem(f"{path}: {what} is at byte {actual}, but the end records say {said}: {_NOT_AS_WRITTEN}")


def _misplaced(path: str, gap: int, before: str | None, after: str) -> NoReturn:
    """`gap` bytes found between `before` (None: the start of the file) and `after`, or overlapping them."""
    if gap < 0:
        raise Problem(f"{path}: {after} overlaps the last {-gap} bytes of {before or 'nothing'}: {_NOT_AS_WRITTEN}")
    place = f"before {after}" if before is None else f"between {before} and {after}"
    raise Problem(f"{path}: {gap} bytes {place}: {_NOT_AS_WRITTEN}")


def _central_directory(file: IO[bytes], path: str) -> tuple[int, list[tuple[int, int, str]]]:
    """Where the central directory is (it ends where the end records begin), and what they say of where things are."""
    size = file.seek(0, os.SEEK_END)
    file.seek(max(size - _END.size, 0))
    end = file.read(_END.size)
    if len(end) < _END.size or end[:4] != b"PK\x05\x06" or _END.unpack(end)[-1]:
        file.seek(max(size - (1 << 16) - _END.size, 0))
        tail = file.read()
        found = tail.rfind(b"PK\x05\x06")
        extra = f"{len(tail) - found - _END.size} bytes" if found >= 0 else "bytes"
        raise Problem(
            f"{path}: {extra} after the end of central directory record (a zip comment or appended data): "
            f"{_NOT_AS_WRITTEN}"
        )
    directory_size, recorded = _END.unpack(end)[5:7]
    ends = size - _END.size
    if ends >= _LOCATOR64.size:
        file.seek(ends - _LOCATOR64.size)
        locator = _LOCATOR64.unpack(file.read(_LOCATOR64.size))
        if locator[0] == b"PK\x06\x07":
            ends -= _LOCATOR64.size + _END64.size
            file.seek(ends)
            record = _END64.unpack(file.read(_END64.size))
            if record[0] != b"PK\x06\x06" or record[1] != _END64.size - 12:
                raise Problem(f"{path}: the ZIP64 end records are not as zipfile writes them: {_NOT_AS_WRITTEN}")
            directory_size, recorded = record[8:10]
            return ends - directory_size, [
                (recorded, ends - directory_size, "the central directory"),
                (locator[2], ends, "the ZIP64 end of central directory record"),
            ]
    return ends - directory_size, [(recorded, ends - directory_size, "the central directory")]


def _member_end(file: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Where the member's local header, data and data descriptor (if any) end; they must match its entry."""
    file.seek(info.header_offset)
    header = file.read(_LOCAL.size)
    if len(header) < _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise Problem(f"{info.filename}: no local file header at byte {info.header_offset}: {_NOT_AS_WRITTEN}")
    _, _, flags, method, _, _, crc, packed, size, name_length, extra_length = _LOCAL.unpack(header)
    name, extra = file.read(name_length), file.read(extra_length)
    central = (info.orig_filename.encode("utf-8" if flags & 0x800 else "cp437"), info.flag_bits, info.compress_type)
    if (name, flags, method) != central:
        raise Problem(
            f"{info.filename}: its local header's name, flags or compression differ from the central "
            f"directory's: {_NOT_AS_WRITTEN}"
        )
    end: int = info.header_offset + _LOCAL.size + name_length + extra_length + info.compress_size
    zip64 = _zip64_sizes(extra)
    if flags & _HAS_DESCRIPTOR:
        return end + _descriptor_size(file, end, info, zip64 is not None)
    if zip64 is not None and (packed, size) == (0xFFFFFFFF, 0xFFFFFFFF):
        size, packed = zip64
    if (crc, packed, size) != (info.CRC, info.compress_size, info.file_size):
        raise Problem(
            f"{info.filename}: its local header's CRC and sizes differ from the central directory's: {_NOT_AS_WRITTEN}"
        )
    return end


def _zip64_sizes(extra: bytes) -> tuple[int, int] | None:
    """The (size, compressed size) of a local header's ZIP64 extra field, None without one."""
    while len(extra) >= 4:
        tag, length = struct.unpack_from("<2H", extra)
        if tag == 1 and length >= 16:
            return struct.unpack_from("<2Q", extra, 4)
        extra = extra[4 + length :]
    return None


def _descriptor_size(file: IO[bytes], at: int, info: zipfile.ZipInfo, zip64: bool) -> int:
    """The size of the data descriptor at `at`: 12 or 20 bytes (ZIP64), 4 more with its optional signature."""
    file.seek(at)
    data, layout = file.read(24), struct.Struct("<LQQ" if zip64 else "<3L")
    for start in (4, 0) if data.startswith(_DESCRIPTOR) else (0,):
        fields = data[start : start + layout.size]
        if len(fields) == layout.size and layout.unpack(fields) == (info.CRC, info.compress_size, info.file_size):
            return start + layout.size
    raise Problem(
        f"{info.filename}: its data descriptor at byte {at} does not match the central directory: {_NOT_AS_WRITTEN}"
    )


class Bundle:
    """The zip's members, read so that any failure becomes a problem naming the member."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._archive = archive
        self.names = [info.filename for info in archive.infolist()]
        self._digests: dict[str, tuple[str, int]] = {}  # of the members read whole so far
        counts = Counter(self.names)
        if repeated := sorted(name for name, times in counts.items() if times > 1):
            raise Problem(f"{repeated[0]}: the zip holds {counts[repeated[0]]} members of that name")

    def read(self, name: str) -> bytes:
        """A small member, whole."""
        with self._reading(name):
            data = self._archive.read(name)
        self._digests[name] = (hashlib.sha256(data).hexdigest(), len(data))
        return data

    def lines(self, name: str) -> Iterator[bytes]:
        """The member's lines without their newline (its digest is kept once they are all read)."""
        sha256, size, rest = hashlib.sha256(), 0, b""
        with self._reading(name), self._archive.open(name) as member:
            while chunk := member.read(_CHUNK):  # a chunk at a time: much faster than the member's readline
                sha256.update(chunk)
                size += len(chunk)
                whole = (rest + chunk).split(b"\n")
                rest = whole.pop()
                yield from whole
        if rest:
            yield rest
        self._digests[name] = (sha256.hexdigest(), size)

    def documents(self, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """The member's lines as JSON objects, numbered from 1."""
        for number, line in enumerate(self.lines(name), 1):
            yield number, json_document(line, name, number)

    def digest(self, name: str) -> tuple[str, int]:
        """SHA-256 (hex) and size of the member's bytes."""
        if name in self._digests:
            return self._digests[name]
        sha256, size = hashlib.sha256(), 0
        with self._reading(name), self._archive.open(name) as member:
            while chunk := member.read(_CHUNK):
                sha256.update(chunk)
                size += len(chunk)
        self._digests[name] = (sha256.hexdigest(), size)
        return self._digests[name]

    @contextmanager
    def _reading(self, name: str) -> Iterator[None]:
        if name not in self.names:
            raise Problem(f"{name}: not in the zip")
        try:
            yield
        except _UNREADABLE as error:
            raise Problem(f"{name}: cannot be read from the zip ({error})") from error


def json_document(line: bytes, name: str, number: int) -> dict[str, Any]:
    """Line `number` of member `name` as a JSON object; a Problem naming them if it is not one."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        document = None
    return document if type(document) is dict else json_object(line, name, number)


def json_object(data: bytes, member: str, number: int | None = None) -> dict[str, Any]:
    """`data` (a member, or its line `number`) as a JSON object."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise Problem(f"{_line(member, number)}: not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise Problem(f"{_line(member, number)}: a JSON object expected, found {text(document)}")
    return document


def _line(member: str, number: int | None) -> str:
    return member if number is None else f"{member} line {number}"


def get(document: Mapping[str, Any], key: str, kind: type[T], where: str) -> T:
    """document[key], which must be a `kind` (a bool is not an int here)."""
    value = document.get(key)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise Problem(f"{where}: {key} is {shown(document, key)}, expected a JSON {_KINDS.get(kind, kind.__name__)}")


def hex_digest(document: Mapping[str, Any], key: str, where: str) -> str:
    """document[key], which must be a SHA-256 in lowercase hex."""
    value = get(document, key, str, where)
    if not _HEX.fullmatch(value):
        raise Problem(f"{where}: {key} is {text(value)}, expected a SHA-256 in lowercase hex")
    return value


def signature_bytes(data: bytes, where: str) -> bytes:
    """A signature from its canonical base64."""
    try:
        signature = base64.b64decode(data, validate=True)
    except binascii.Error as error:
        raise Problem(f"{where}: the signature is not base64 ({error})") from error
    if base64.b64encode(signature) != data:  # spare bits set: the same signature written another way
        raise Problem(f"{where}: the signature is not in canonical base64")
    return signature


def same(found: object, expected: object) -> bool:
    """Equal, and of the same JSON type (true is not 1)."""
    return type(found) is type(expected) and found == expected


def shown(document: Mapping[str, Any], key: str) -> str:
    """document[key] as a message shows it, or `missing`."""
    return text(document[key]) if key in document else "missing"


def text(value: object) -> str:
    """A JSON value as a message shows it (a plain word unquoted), cut short if long."""
    plain = isinstance(value, str) and value and not any(character.isspace() for character in value)
    written = value if plain and isinstance(value, str) else orjson.dumps(value).decode()
    return written if len(written) <= 120 else f"{written[:117]}..."
