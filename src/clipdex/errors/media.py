"""Untrusted media that cannot or may not be processed (permanent), and transient tool failures."""

from __future__ import annotations

from clipdex.errors.base import ClipdexError, TransientError


class MediaRejected(ClipdexError):
    """Family: the file itself is the problem, so a retry cannot help (never retried)."""

    status, title, retryable = 422, "Media rejected", False


class MediaCorrupt(MediaRejected):
    code, title = "media.corrupt", "Media is corrupt"
    hint = "Re-export or re-download the file; it has damaged or missing data."


class MediaTruncated(MediaRejected):
    code, title = "media.truncated", "Media is truncated"
    hint = "Upload the complete file; it ends before its streams or container say it does."


class MediaEmpty(MediaRejected):
    code, title = "media.empty", "File is empty"
    hint = "Upload a file with content."


class MediaUnrecognized(MediaRejected):
    code, title = "media.unrecognized", "Not an audio or video file"
    hint = "Upload an audio or video file (MP4, MOV, MKV, WebM, MP3, WAV, ...)."


class FormatNotAllowed(MediaRejected):
    code, title = "media.format_not_allowed", "Container format not accepted"
    hint = "Convert to an accepted container such as MP4, MKV or WebM."


class PlaylistNotAllowed(MediaRejected):
    code, title = "media.playlist_not_allowed", "Playlists not accepted"
    hint = "Upload the media itself, not a playlist or a file that references others."


class ExternalReference(MediaRejected):
    code, title = "media.external_reference", "Media references other files"
    hint = "Export a self-contained file (no reference movie)."


class StillImage(MediaRejected):
    code, title = "media.still_image", "Still image"
    hint = "Upload a video or audio file; images are not processed."


class NoVideoStream(MediaRejected):
    code, title = "media.no_video", "No video stream"
    hint = "This step needs video; upload a file with a decodable video stream."


class NoUsableStream(MediaRejected):
    code, title = "media.no_usable_stream", "No audio or video stream"
    hint = "Upload a file that has an audio or a video stream."


class TooManyStreams(MediaRejected):
    code, title = "media.too_many_streams", "Too many streams"
    hint = "Remove extra streams (keep one video and one audio track)."


class InvalidDimensions(MediaRejected):
    code, title = "media.invalid_dimensions", "Invalid video dimensions"
    hint = "Re-encode the video; its width and height are missing or impossible."


class ResolutionExceeded(MediaRejected):
    code, title = "media.resolution_exceeded", "Resolution above the tier's limit"
    hint = "Downscale the video, or move to a tier with a higher limit."


class InvalidFrameRate(MediaRejected):
    code, title = "media.invalid_frame_rate", "Frame rate too high"
    hint = "Re-encode at a normal frame rate."


class UnsupportedCodec(MediaRejected):
    code, title = "media.unsupported_codec", "Codec not supported"
    hint = "Re-encode with a common codec (H.264, VP9, AV1; AAC, Opus, MP3)."


class NoDuration(MediaRejected):
    code, title = "media.no_duration", "No measurable duration"
    hint = "Re-export the file; its duration cannot be read."


class DurationExceeded(MediaRejected):
    code, title = "media.duration_exceeded", "Duration above the tier's limit"
    hint = "Trim the media, or move to a tier with a longer limit."


class ProbeTimeout(MediaRejected):
    code, title = "media.probe_timeout", "Media took too long to inspect"
    hint = "Re-export the file; a well-formed file is inspected in seconds."


class ToolTimeout(TransientError):
    """A media tool ran past its time limit (retried: it may be load)."""


class SandboxUnavailable(TransientError):
    """``media_sandbox = "required"`` and this kernel offers no Landlock."""
