"""Videos and what the analysis made of them: transcripts, speakers, sound events, visuals, people."""

from __future__ import annotations

from clipdex.errors.base import Conflict, Invalid, Missing, StillProcessing, Unavailable


class InvalidLanguage(Invalid):
    code, title = "video.invalid_language", "Invalid language"
    hint = "Give a BCP 47 code such as `en` or `pt-BR`, or leave it out to detect it."


class NotStored(Conflict):
    code, title = "video.not_stored", "Original not stored yet"
    hint = "Wait until the upload or import has finished."


class TranscriptNotReady(StillProcessing):
    code, title = "transcript.not_ready", "Transcript not ready"
    hint = "Wait for the video's transcription stage to finish (see its job)."


class TranslationUnavailable(Conflict):
    code, title = "transcript.translation_unavailable", "Translation not available"
    hint = "The video is in English or was transcribed by an English-only model: use the transcript."


class SegmentNotFound(Missing):
    code, title = "transcript.segment_not_found", "No such segment"
    hint = "Use a segment index below the transcript's segment count."


class SpeakersNotReady(StillProcessing):
    code, title = "speakers.not_ready", "Speakers not ready"
    hint = "Wait for the video's diarization stage to finish."


class SpeakerNotFound(Missing):
    code, title = "speaker.not_found", "Speaker not found"
    hint = "Use a speaker label the video's speaker list shows."


class SoundEventsNotReady(StillProcessing):
    code, title = "sound_events.not_ready", "Sound events not ready"
    hint = "Wait for the video's sound-event stage to finish."


class VisualNotAnalyzed(StillProcessing):
    code, title = "visual.not_analyzed", "Visual analysis not available"
    hint = "Wait for the visual stage, or reprocess the video if it ran without visual analysis."


class PurgeNeedsOff(Invalid):
    code, title = "people.purge_needs_off", "purge needs face_analysis=false"
    hint = "Send purge=true only together with face_analysis=false."


class ModelUnavailable(Unavailable):
    code, title = "model.unavailable", "Model unavailable"
    hint = "The operator installs the model package or fixes the model setting (`clipdex doctor`)."
