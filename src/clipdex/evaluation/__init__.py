"""Evaluations against a labelled corpus (``clipdex eval``)."""
