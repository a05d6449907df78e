"""Which container formats clipdex demuxes from untrusted media, and how a call pins one.

Playlist and indirection demuxers (HLS, DASH, concat, image sequences, ...) open *other* files or
URLs named inside the upload, which lets a crafted upload read another tenant's media. FFmpeg's
``-protocol_whitelist file`` does not stop that: the playlist and its segments are all ``file:``.
So every FFmpeg/ffprobe call on user media names the allowed demuxers (``-format_whitelist``), and
every decode after the probe pins the probed demuxer with ``-f``: a file can never be re-read as
something else.
"""

from __future__ import annotations

from pathlib import Path

from clipdex.errors import FormatNotAllowed, MediaRejected, MediaUnrecognized, PlaylistNotAllowed, StillImage

# FFmpeg demuxer names (as in ``ffmpeg -demuxers``) that carry their media inside the file itself.
ALLOWED_DEMUXERS: tuple[str, ...] = (
    "mov", "mp4", "m4a", "3gp", "3g2", "mj2",  # one demuxer, "mov,mp4,m4a,3gp,3g2,mj2"
    "matroska", "webm", "avi", "mpegts", "mpeg", "flv", "ogg", "wav", "w64", "mp3", "aac", "flac",
    "asf", "mxf", "yuv4mpegpipe", "aiff", "ac3", "eac3", "amr", "dv", "gxf", "nut", "caf", "mpegvideo",
    "m4v",
)
FORMAT_WHITELIST = ",".join(ALLOWED_DEMUXERS)

# Demuxers that open other files or URLs named by the input (refused with their own code).
INDIRECTION_DEMUXERS = frozenset({
    "hls", "applehttp", "dash", "concat", "ffconcat", "image2", "tee", "data", "subfile",
    "webm_dash_manifest", "mpl2", "hds", "smoothstreaming", "imf", "ffmetadata", "sdp", "rtsp", "rtp",
    "libmodplug", "bluray", "mms", "avisynth", "vapoursynth", "lavfi", "http", "mpjpeg",
})
IMAGE_DEMUXERS = frozenset({
    "image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "tiff_pipe", "gif", "gif_pipe", "svg_pipe",
    "jpegxl_pipe", "qoi_pipe", "pam_pipe", "ppm_pipe", "pgm_pipe", "dds_pipe", "psd_pipe", "j2k_pipe",
})

# Leading bytes of text formats that name other files (so the refusal is specific even when FFmpeg
# would not recognise the list at all).
_PLAYLIST_SIGNS_NEAR_START = (b"#EXTM3U", b"#EXT-X-", b"ffconcat version")  # anywhere in the first 1 KiB
_PLAYLIST_SIGNS_AT_START = (b"<MPD", b"[playlist]", b"<smil", b"#EXTINF")


def demuxers_of(format_name: str) -> list[str]:
    return [n.strip() for n in (format_name or "").split(",") if n.strip()]


def is_allowed(format_name: str) -> bool:
    names = demuxers_of(format_name)
    return bool(names) and any(n in ALLOWED_DEMUXERS for n in names)


def pinned(format_name: str | None) -> str:
    """The ``-f`` value for a probed ``format_name``; refuses anything off the allow-list."""
    names = demuxers_of(format_name or "")
    if not names or not any(n in ALLOWED_DEMUXERS for n in names):
        raise FormatNotAllowed("This container format is not accepted.")
    return names[0]


def pinned_for(media: dict | None) -> str:
    """The pinned demuxer recorded by the probe (``Video.media``)."""
    return pinned((media or {}).get("format_name"))


def looks_like_playlist(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):  # XML manifests (DASH, SMIL, Smooth Streaming) after a prolog or comment
        low = text[:2048].lower()
        if any(sign in low for sign in (b"<mpd", b"<smil", b"<smoothstreamingmedia")):
            return True
    return any(sign in text[:1024] for sign in _PLAYLIST_SIGNS_NEAR_START) or \
        text.startswith(_PLAYLIST_SIGNS_AT_START)


def refusal_for(demuxer: str | None, head: bytes, looks_like_media: bool) -> MediaRejected:
    """The specific refusal for a file whose (probed) demuxer is not on the allow-list."""
    names = set(demuxers_of(demuxer or ""))
    if names & INDIRECTION_DEMUXERS or looks_like_playlist(head):
        return PlaylistNotAllowed("Playlists and files that reference other files or URLs are not accepted; "
                                  "upload the media itself.")
    if names & IMAGE_DEMUXERS:
        return StillImage("Still images are not videos.")
    if looks_like_media:
        return FormatNotAllowed("This container format is not accepted.")
    return MediaUnrecognized("The file is not a recognised audio or video format.")


def input_args(path: Path | str, fmt: str | None) -> list[str]:
    """FFmpeg/ffprobe input options for untrusted ``path``: allowed demuxers only, the file protocol
    only, no external references, and (after the probe) the probed demuxer pinned."""
    args = ["-format_whitelist", FORMAT_WHITELIST, "-protocol_whitelist", "file"]
    if fmt:
        args += ["-f", fmt]
        if fmt in ("mov", "mp4", "m4a", "3gp", "3g2", "mj2"):
            args += ["-enable_drefs", "0"]
    return [*args, "-i", f"file:{path}"]
