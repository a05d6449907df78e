"""The stage contract (issue 12): stages get declared inputs and return their effects; the runner
alone writes them, inside the commit fenced by the lease; stages are found by entry point; the
runner retries by the error's ``retryable`` flag."""

from __future__ import annotations

import ast
import tomllib
import uuid
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from clipdex.errors import ClipdexError, TooManyRequests
from clipdex.jobs import runner, scheduler
from clipdex.models import Video
from clipdex.pipeline import registry
from clipdex.pipeline.artifacts import BlobOut, JsonArtifact, Shots, Transcript
from clipdex.pipeline.stage import StageResult
from clipdex.storage import keys
from tests.pipeline.engine_support import (artifacts_of, expire_lease, make_tenant, queue_job, registered,
                                           stages_of)

SRC = Path(__file__).resolve().parents[2] / "src" / "clipdex"


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_no_analyzer_opens_a_session_or_registers_itself():
    offenders = {}
    for path in sorted((SRC / "analyzers").glob("*.py")):
        text = path.read_text()
        found = [s for s in ("db.tenant(", "db.system(", "system_session(", "registry.register(") if s in text]
        found += [m for m in _imports(path) if m.startswith("clipdex.pipeline.registry")]
        if found:
            offenders[path.name] = found
    assert offenders == {}


def test_pipeline_imports_no_analyzer():
    for path in sorted((SRC / "pipeline").glob("*.py")):
        assert not [m for m in _imports(path) if m.startswith("clipdex.analyzers")], path.name


def test_every_built_in_stage_comes_from_an_entry_point():
    declared = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["project"]["entry-points"][registry.GROUP]
    installed = {ep.name: ep.value for ep in entry_points(group=registry.GROUP)}
    assert {n: v for n, v in installed.items() if v.startswith("clipdex.")} == declared
    stages = registry.discover()
    for name in declared:
        st = stages[name]
        assert st.name == name and type(st).__module__.startswith("clipdex.analyzers.")
        registry.check(st)  # inputs are artifact kinds read after the stages that make them


class _Reads:
    name, version, queue = "reads", "1", "cpu"
    requires = ("probe",)
    inputs = (Transcript,)

    def run(self, ctx):
        return None


class _Writes:
    name, version, queue = "writes", "1", "cpu"
    requires = ()
    outputs = (Shots,)

    def run(self, ctx):
        return None


def test_registry_refuses_inputs_without_ordering_and_outputs_of_other_stages():
    with pytest.raises(registry.StageContractError, match="transcribe"):
        registry.check(_Reads())
    with pytest.raises(registry.StageContractError, match="Shots"):
        registry.check(_Writes())


class Note(JsonArtifact):
    stage, name = "effects", "note.json"


class EffectsStage:
    """Returns one of everything a stage can hand back; its row writer records that it ran."""

    name, version, queue = "effects", "1", "cpu"
    requires: tuple[str, ...] = ()
    inputs = ()
    outputs = (Note, "extra.bin")

    def __init__(self, fail_in_writer: bool = False) -> None:
        self.fail_in_writer = fail_in_writer
        self.writes = 0

    def run(self, ctx):
        return StageResult(output={"done": True}, artifacts=[Note({"video": str(ctx.video.id)}),
                                                             BlobOut("extra.bin", b"\x00\x01", "application/x-test")],
                           video={"title": "from the stage"}, rows=[self._write])

    def _write(self, c) -> None:
        self.writes += 1
        c.session.get(Video, c.video_id).language = "xx"
        c.output["written"] = True
        if self.fail_in_writer:
            raise RuntimeError("writer failed")


def _video(platform, tenant_id, video_id) -> Video:
    with platform.db.tenant(tenant_id, readonly=True) as s:
        return s.get(Video, video_id)


def test_a_stale_stage_writes_nothing_and_its_owner_writes_everything_once(platform):
    stage = EffectsStage()
    with registered(stage, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        first = scheduler.claim_next(platform, "w1")
        expire_lease(platform, first.stage_id)
        second = scheduler.claim_next(platform, "w2")

        assert runner.execute(platform, first) == "lost"
        assert stage.writes == 0  # row writers run only behind the fence
        assert artifacts_of(platform, video_id) == []
        assert list(platform.blobs.list_prefix(keys.video_prefix(tenant_id, video_id))) == []
        v = _video(platform, tenant_id, video_id)
        assert (v.title, v.language) == ("t", None)

        assert runner.execute(platform, second) == "succeeded"
        assert stage.writes == 1
        arts = {a.name: a for a in artifacts_of(platform, video_id)}
        assert set(arts) == {"note.json", "extra.bin"} and {a.stage for a in arts.values()} == {"effects"}
        with platform.db.tenant(tenant_id, readonly=True) as s:
            assert Note.doc_of(platform, s, video_id) == {"video": str(video_id)}
        v = _video(platform, tenant_id, video_id)
        assert (v.title, v.language) == ("from the stage", "xx")
        st = stages_of(platform, job_id)["effects"]
        assert st.status == "succeeded" and st.output == {"done": True, "written": True}


def test_a_failing_row_writer_rolls_the_whole_commit_back(platform):
    stage = EffectsStage(fail_in_writer=True)
    with registered(stage, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        claim = scheduler.claim_next(platform, "w1")
        assert runner.execute(platform, claim) == "retry"
        assert stage.writes == 1 and artifacts_of(platform, video_id) == []
        v = _video(platform, tenant_id, video_id)
        assert (v.title, v.language) == ("t", None)
        st = stages_of(platform, job_id)["effects"]
        assert (st.status, st.error_code) == ("ready", "job.stage_error")


class _Unfixable(ClipdexError):  # a family (no code of its own): a 5xx that no retry mends
    status, title, retryable = 503, "Unfixable", False


class FailsWith:
    version, queue, requires = "1", "cpu", ()

    def __init__(self, name: str, error: Exception) -> None:
        self.name, self.error = name, error

    def run(self, ctx):
        raise self.error


@pytest.mark.parametrize(("error", "outcome"), [
    (TooManyRequests("busy"), "retry"),  # a 4xx that says a later try may work
    (_Unfixable("no"), "failed"),  # a 5xx that says it will not
    (RuntimeError("unexpected"), "retry"),
])
def test_the_runner_retries_by_the_errors_flag_not_its_status(sqlite_platform, error, outcome):
    p = sqlite_platform
    with registered(FailsWith("failing", error), only=True):
        video_id, job_id = queue_job(p, make_tenant(p))
        assert runner.execute(p, scheduler.claim_next(p, "w1")) == outcome


def test_an_undeclared_input_is_refused():
    from clipdex.pipeline.stage import StageContext, UndeclaredInput

    ctx = StageContext(platform=None, video=None, job_id=uuid.uuid4(), stage_name="x", stage_version="1", attempt=1,
                       upstream={}, report_progress=lambda f: None, check_alive=lambda: None,
                       loaded={Transcript: None})
    assert ctx.input(Transcript) is None
    with pytest.raises(UndeclaredInput):
        ctx.input(Shots)


@pytest.mark.parametrize(("kind", "dumps"), [
    (Transcript, {"ensure_ascii": False}),  # what the stages wrote before the kinds existed
    (Shots, {}),
])
def test_kinds_store_the_documents_as_the_stages_always_did(kind, dumps):
    import json

    doc = {"segments": [{"text": "Grüße, ¿qué tal?", "start": 0.5}], "n": [1, 2]}
    assert kind(doc).encode() == json.dumps(doc, **dumps).encode()
    assert json.loads(kind(doc).encode()) == doc
