"""Answer backends behind one interface: ``extractive`` (default), ``local`` (transformers), ``openai``.

A backend gets the task and numbered quotes and returns sentences with the quote numbers they cite.
It never sees video ids, tenant names or anything but the quotes: citations are mapped back to
videos and times server-side, and every sentence is verified afterwards (citations.py), whatever
the backend wrote. The contract lives in ``protocol``, the default backend in ``extractive``; this
module holds the OpenAI-compatible client and chooses a backend.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clipdex.rag.citations import Quote, Sentence
from clipdex.rag.extractive import ExtractiveBackend, mmr
from clipdex.rag.protocol import (
    NOT_FOUND_TOKEN,
    AnswerBackend,
    BackendNotEnabled,
    BackendUnavailable,
    Task,
    build_messages,
    parse_reply,
)

__all__ = ["BACKENDS", "NOT_FOUND_TOKEN", "AnswerBackend", "BackendNotEnabled", "BackendUnavailable",
           "ExtractiveBackend", "OpenAIBackend", "Task", "build_messages", "choose", "enabled", "get_backend",
           "mmr", "parse_reply"]

log = logging.getLogger("clipdex.rag")

BACKENDS = ("extractive", "local", "openai", "tenant")  # tenant: the tenant's active custom model (training/)


# --- openai-compatible -------------------------------------------------------------------------

@dataclass
class OpenAIBackend:
    """Any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp server, OpenAI)."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0
    max_tokens: int = 256
    name: str = "openai"

    def draft(self, task: Task, quotes: list[Quote]) -> list[Sentence]:
        return parse_reply(self.complete(build_messages(task, quotes)))

    def complete(self, messages: list[dict]) -> str:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "messages": messages, "max_tokens": self.max_tokens, "temperature": 0}
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            r = httpx.post(url, json=body, headers=headers, timeout=self.timeout_s)
        except httpx.TimeoutException:
            raise BackendUnavailable("The answer model did not reply in time.") from None
        except httpx.HTTPError as e:
            log.warning("answer backend unreachable: %s", type(e).__name__)
            raise BackendUnavailable("The answer model could not be reached.") from None
        if r.status_code != 200:
            log.warning("answer backend replied HTTP %s", r.status_code)
            raise BackendUnavailable(f"The answer model replied with HTTP {r.status_code}.")
        try:
            content = r.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BackendUnavailable("The answer model's reply was not a chat completion.") from None
        return content if isinstance(content, str) else ""


# --- selection ---------------------------------------------------------------------------------

def enabled(settings) -> list[str]:
    """Backends this deployment offers: extractive always, its default, and those it configured."""
    out = {"extractive", settings.answer_backend}
    if settings.llm_base_url:
        out.add("openai")
    if settings.llm_model_dir:
        out.add("local")
    if settings.training_limits:
        out.add("tenant")
    return [b for b in BACKENDS if b in out]


def choose(settings, tenant_settings: dict | None, requested: str | None) -> str:
    """The request's backend, else the tenant's, else the deployment's; only among the enabled ones."""
    allowed = enabled(settings)
    if requested:
        if requested not in allowed:
            raise BackendNotEnabled(f"Backend {requested!r} is not enabled here; choose one of {allowed}.")
        return requested
    mine = (tenant_settings or {}).get("answer_backend")
    return mine if mine in allowed else settings.answer_backend


def get_backend(settings, name: str, embedder, *, platform=None, tenant_id=None) -> AnswerBackend:
    if name == "tenant":
        from clipdex.training.serving import tenant_backend

        return tenant_backend(platform, tenant_id, embedder)
    if name == "extractive":
        return ExtractiveBackend(embedder)
    if name == "openai":
        if not settings.llm_base_url:
            raise BackendUnavailable("No OpenAI-compatible endpoint is configured (CLIPDEX_LLM_BASE_URL).")
        return OpenAIBackend(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                             settings.llm_timeout_s, settings.llm_max_tokens)
    if name == "local":
        from clipdex.rag.local_llm import LocalBackend

        return LocalBackend.from_settings(settings)
    raise BackendNotEnabled(f"Unknown answer backend {name!r}.")
