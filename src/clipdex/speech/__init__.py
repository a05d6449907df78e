"""Speech intelligence: ASR model resolution, audio helpers, transcripts, subtitles and evaluation."""
