"""Uploads (multipart, tus, presigned), URL imports and duplicates."""

from __future__ import annotations

from clipdex.errors.base import BadRequest, ClipdexError, Conflict, Gone, Invalid, PayloadTooLarge


class UploadTooLarge(PayloadTooLarge):
    code, title = "upload.too_large", "Upload too large"
    hint = "Upload a smaller file, or move to a tier with a higher upload limit."


class UploadExceedsLength(PayloadTooLarge):
    code, title = "upload.exceeds_length", "More bytes than Upload-Length"
    hint = "Send exactly the number of bytes declared in Upload-Length."


class UploadSizeMismatch(Invalid):
    """The stored object's size differs from the declared one (413 when larger, 422 when smaller)."""

    code, title = "upload.size_mismatch", "Size differs from the declared size"
    hint = "Upload exactly the declared number of bytes, or start a new upload with the right size."
    alt_statuses = (413,)

    def __init__(self, size: int, declared: int) -> None:
        super().__init__(f"The uploaded file has {size} bytes; {declared} were declared.")
        if size > declared:
            self.status = 413


class UploadBadMetadata(BadRequest):
    code, title = "upload.bad_metadata", "Malformed Upload-Metadata"
    hint = "Send Upload-Metadata as comma-separated `key base64value` pairs."


class UploadLengthRequired(BadRequest):
    code, title = "upload.length_required", "Upload-Length required"
    hint = "Send Upload-Length with the file's size; deferred length is not supported."


class TusVersion(ClipdexError):
    status, code, title = 412, "upload.tus_version", "Unsupported tus version"
    hint = "Send `Tus-Resumable: 1.0.0`."


class UploadBadContentType(ClipdexError):
    status, code, title = 415, "upload.bad_content_type", "Wrong content type"
    hint = "Use multipart/form-data (POST /api/v1/videos) or application/offset+octet-stream (tus PATCH)."


class UploadExpired(Gone):
    code, title = "upload.expired", "Upload expired"
    hint = "Start a new upload."


class UploadFinished(Conflict):
    code, title = "upload.finished", "Upload already finished"
    hint = "Nothing to do: the video exists; GET it instead."


class UploadOffsetMismatch(Conflict):
    code, title = "upload.offset_mismatch", "Upload-Offset mismatch"
    hint = "HEAD the upload to learn the server's offset and resume from there."


class UploadNotReceived(Conflict):
    code, title = "upload.not_received", "Nothing uploaded yet"
    hint = "PUT or POST the file to the presigned URL first, then complete the upload."


class UploadNotPresigned(Conflict):
    code, title = "upload.not_presigned", "Not a presigned upload"
    hint = "Complete only uploads created through the presigned-upload endpoint."


class PresignUnsupported(Conflict):
    code, title = "storage.presign_unsupported", "Presigned uploads not available"
    hint = "Use POST /api/v1/uploads (tus) or POST /api/v1/videos on this deployment."


class UploadMultipleFiles(BadRequest):
    code, title = "upload.multiple_files", "More than one file"
    hint = "Send one file per request."


class UploadFieldTooLong(BadRequest):
    code, title = "upload.field_too_long", "Form field too long"
    hint = "Shorten the form fields (title, tags, ...)."


class UploadInterrupted(BadRequest):
    code, title = "upload.interrupted", "Upload interrupted"
    hint = "Retry the upload (or use tus uploads, which resume)."


class UploadMalformed(BadRequest):
    code, title = "upload.malformed", "Malformed multipart body"
    hint = "Send a well-formed multipart/form-data body."


class UploadMissingFile(BadRequest):
    code, title = "upload.missing_file", "No file field"
    hint = "Put the media in a form field named `file`."


class DuplicateVideo(Conflict):
    code, title = "video.duplicate", "Duplicate video"
    hint = "The same file is already stored: `existing_id` names the video."


class ImportRejected(ClipdexError):
    """Family: a URL import that cannot be fetched as asked."""

    status, title = 422, "Import rejected"


class ImportUnsupportedScheme(ImportRejected):
    code, title = "import.unsupported_scheme", "URL scheme not supported"
    hint = "Import from an http or https URL."


class ImportInvalidUrl(ImportRejected):
    code, title = "import.invalid_url", "Invalid import URL"
    hint = "Send a URL with a host and without user:password credentials."


class ImportUnresolvable(ImportRejected):
    code, title = "import.unresolvable", "Host does not resolve"
    hint = "Check the URL's host name."


class ImportForbiddenAddress(ImportRejected):
    code, title = "import.forbidden_address", "Address not allowed"
    hint = "Import from a public address; private, loopback and link-local addresses are refused."


class ImportTimeout(ImportRejected):
    code, title = "import.timeout", "Download took too long"
    hint = "Host the file somewhere faster, or upload it directly."


class ImportBadRedirect(ImportRejected):
    code, title = "import.bad_redirect", "Redirect without target"
    hint = "Fix the remote server's redirect, or import the final URL."


class ImportTooManyRedirects(ImportRejected):
    code, title = "import.too_many_redirects", "Too many redirects"
    hint = "Import the final URL directly."


class ImportHttpError(ImportRejected):
    code, title = "import.http_error", "Remote server refused"
    hint = "Check that the URL is downloadable without signing in."


class ImportTooLarge(PayloadTooLarge):
    code, title = "import.too_large", "Remote file too large"
    hint = "Import a smaller file, or move to a tier with a higher upload limit."
