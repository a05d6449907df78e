"""Answers with verified citations, summaries and chapters, built on the per-tenant search index.

``answer`` (retrieve -> backend -> verify), ``backends`` (extractive | local | openai),
``citations`` (every sentence checked against the spans it cites), ``summarize`` (per video and
query-focused), ``chapters`` (topic segmentation snapped to scenes).
"""
