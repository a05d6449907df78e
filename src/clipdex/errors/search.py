"""Search and answers (questions, summaries)."""

from __future__ import annotations

from clipdex.errors.base import Invalid, Missing, Unavailable


class SearchError(Invalid):
    """Family: a search request that cannot be run as given."""

    title = "Invalid search"


class InvalidModality(SearchError):
    code, title = "search.invalid_modality", "Unknown modality"
    hint = "Use one of the modalities listed in `detail`."


class InvalidSearchLanguage(SearchError):
    code, title = "search.invalid_language", "Invalid language filter"
    hint = "Filter by ISO language codes such as `en` or `pt-BR`."


class InvalidFilter(SearchError):
    code, title = "search.invalid_filter", "Invalid filter"
    hint = "Send fewer or shorter filter values, without control characters."


class InvalidSearchCursor(SearchError):
    code, title = "search.invalid_cursor", "Invalid search cursor"
    hint = "Send `next_cursor` unchanged, with the same query and filters."


class QueryTooLong(SearchError):
    code, title = "search.query_too_long", "Query too long"
    hint = "Shorten the query (the limit is in `detail`)."


class QueryRequired(SearchError):
    code, title = "search.query_required", "Query required"
    hint = "Send q=<text>, or like=<video_id>@<seconds> to find similar moments."


class InvalidLike(SearchError):
    code, title = "search.invalid_like", "Invalid like"
    hint = "Send like=<video_id>@<seconds>."


class MomentNotIndexed(Missing):
    code, title = "search.moment_not_indexed", "Moment not indexed"
    hint = "Pick a moment the video's index covers, or wait for indexing to finish."


class QuestionRequired(Invalid):
    code, title = "answer.question_required", "Question required"
    hint = "Send a non-empty question."


class QuestionTooLong(Invalid):
    code, title = "answer.question_too_long", "Question too long"
    hint = "Shorten the question (the limit is in `detail`)."


class SummaryQueryRequired(Invalid):
    code, title = "answer.query_required", "Topic required"
    hint = "Send a non-empty topic to summarise."


class SummaryQueryTooLong(Invalid):
    code, title = "answer.query_too_long", "Topic too long"
    hint = "Shorten the topic (the limit is in `detail`)."


class ScopeTooLarge(Invalid):
    code, title = "answer.scope_too_large", "Too many videos in scope"
    hint = "Name fewer videos (the limit is in `detail`), or leave the scope out to use the whole library."


class BackendUnavailable(Unavailable):
    code, title = "answer.backend_unavailable", "Answer backend unavailable"
    hint = "Retry later, or ask with another backend; the operator checks the model or endpoint."


class BackendNotEnabled(Invalid):
    code, title = "answer.backend_not_enabled", "Answer backend not enabled"
    hint = "Use one of the backends listed in `detail`."


class SummaryNotReady(Missing):
    code, title = "summary.not_ready", "Summary not ready"
    hint = "Wait until the video has a transcript and its summary stage has run."
