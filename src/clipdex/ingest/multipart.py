"""Streaming multipart/form-data: the file goes to a staging file as it arrives, never into memory."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from clipdex.errors import (
    ClipdexError,
    UploadBadContentType,
    UploadFieldTooLong,
    UploadInterrupted,
    UploadMalformed,
    UploadMissingFile,
    UploadMultipleFiles,
    UploadTooLarge,
)
from clipdex.ingest.service import StagedFile

MAX_FIELD_BYTES = 64 * 1024


class _Form:
    def __init__(self, staging: Path, max_bytes: int) -> None:
        self.staging, self.max_bytes = staging, max_bytes
        self.fields: dict[str, str] = {}
        self.file: StagedFile | None = None
        self.filename = ""
        self._headers: dict[str, str] = {}
        self._hname = b""
        self._hvalue = b""
        self._name = ""
        self._buf = bytearray()
        self._out = None
        self._hash = None
        self._size = 0
        self._path: Path | None = None

    # python-multipart callbacks
    def on_part_begin(self):
        self._headers, self._buf, self._name = {}, bytearray(), ""

    def on_header_field(self, data, start, end):
        self._hname += data[start:end]

    def on_header_value(self, data, start, end):
        self._hvalue += data[start:end]

    def on_header_end(self):
        self._headers[self._hname.decode("latin-1").lower()] = self._hvalue.decode("latin-1")
        self._hname, self._hvalue = b"", b""

    def on_headers_finished(self):
        _, opts = parse_options_header(self._headers.get("content-disposition", ""))
        self._name = opts.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "file":
            if self._out is not None:
                raise UploadMultipleFiles("Send one file per request.")
            self.filename = os.path.basename(opts.get(b"filename", b"").decode("utf-8", "replace"))[:500]
            self._path = self.staging / f"upload-{uuid.uuid4().hex}"
            self._out = open(self._path, "wb")
            self._hash = hashlib.sha256()

    def on_part_data(self, data, start, end):
        chunk = data[start:end]
        if self._out is not None and self._name == "file":
            self._size += len(chunk)
            if self._size > self.max_bytes:
                raise UploadTooLarge(f"Uploads are limited to {self.max_bytes} bytes on this tier.")
            self._out.write(chunk)
            self._hash.update(chunk)
        else:
            self._buf += chunk
            if len(self._buf) > MAX_FIELD_BYTES:
                raise UploadFieldTooLong("A form field is too long.")

    def on_part_end(self):
        if self._name == "file" and self._out is not None and not self._out.closed:
            self._out.close()
            self.file = StagedFile(self._path, self._size, self._hash.hexdigest())
        elif self._name:
            self.fields[self._name] = self._buf.decode("utf-8", "replace")

    def cleanup(self):
        if self._out is not None and not self._out.closed:
            self._out.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)


async def read_upload(request: Request, staging: Path, max_bytes: int) -> tuple[StagedFile, dict[str, str], str]:
    """Parse the request body; returns the staged file, the text fields and the client's file name."""
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in opts:
        raise UploadBadContentType("Send multipart/form-data with a 'file' field.")
    form = _Form(staging, max_bytes)
    parser = MultipartParser(opts[b"boundary"], {
        "on_part_begin": form.on_part_begin, "on_part_data": form.on_part_data, "on_part_end": form.on_part_end,
        "on_header_field": form.on_header_field, "on_header_value": form.on_header_value,
        "on_header_end": form.on_header_end, "on_headers_finished": form.on_headers_finished,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except ClientDisconnect:
        form.cleanup()
        raise UploadInterrupted("The upload was interrupted.") from None
    except ClipdexError:
        form.cleanup()
        raise
    except Exception:  # noqa: BLE001  (whatever the parser trips on in client bytes is a malformed body)
        form.cleanup()
        raise UploadMalformed("The multipart body is malformed.") from None
    if form.file is None:
        form.cleanup()
        raise UploadMissingFile("The form has no 'file' field.")
    return form.file, form.fields, form.filename
