"""Getting media in: streamed uploads, resumable (tus) uploads, URL imports, acceptance checks."""
