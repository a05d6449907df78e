"""Chapters and per-video summaries on synthetic transcripts with known topics."""

from __future__ import annotations

import pytest

from clipdex.analyzers.summary import scene_cuts
from clipdex.rag import chapters as chap
from clipdex.rag.summarize import summary_document, video_summary
from clipdex.rag.text import TimedSentence, split_sentences, transcript_sentences
from clipdex.search.embed import get_embedder
from tests.conftest import make_settings

COOKING = ["Bring a large pot of salted water to the boil for the pasta.",
           "Chop two cloves of garlic and a handful of fresh basil.",
           "Warm the olive oil in a pan and add the garlic.",
           "Crush the tomatoes and let the sauce simmer for twenty minutes.",
           "Season the tomato sauce with salt, pepper and a pinch of sugar.",
           "Cook the spaghetti until it is al dente.",
           "Drain the pasta and keep a cup of the cooking water.",
           "Toss the spaghetti in the tomato sauce with the basil.",
           "Grate some parmesan cheese over each plate of pasta.",
           "Serve the pasta hot with a glass of red wine."]
ENGINES = ["Now let us look at how a car engine works.",
           "The pistons move up and down inside the cylinders of the engine.",
           "Fuel and air are mixed and ignited by the spark plugs.",
           "The explosion pushes the piston down and turns the crankshaft.",
           "The crankshaft drives the gearbox and then the wheels of the car.",
           "Engine oil keeps the moving metal parts from wearing out.",
           "The radiator and coolant stop the engine from overheating.",
           "Change the engine oil every ten thousand kilometres.",
           "A worn timing belt can destroy the engine if it snaps.",
           "Regular servicing keeps the car engine running smoothly."]
GARDEN = ["Spring is the best time to plant roses in the garden.",
          "Dig a deep hole and mix compost into the soil.",
          "Water the young rose bushes every morning in dry weather.",
          "Prune the roses in late winter to encourage new flowers.",
          "Aphids and greenfly attack roses, so check the leaves often.",
          "Mulch around the plants keeps the soil moist.",
          "Deadhead faded flowers so the roses keep blooming.",
          "Feed the garden roses with fertiliser in early summer."]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    return get_embedder(make_settings(tmp_path_factory.mktemp("emb")))


def timed(lines: list[str], step: float = 4.0) -> list[TimedSentence]:
    return [TimedSentence(t, i * step, i * step + step - 0.5) for i, t in enumerate(lines)]


def transcript_of(lines: list[str], step: float = 4.0) -> dict:
    """A transcript document as the transcribe stage writes it (two sentences per segment)."""
    segs = []
    for i in range(0, len(lines), 2):
        words, t = [], i * step
        for line in lines[i:i + 2]:
            ws = line.split()
            for j, w in enumerate(ws):
                a = t + j * (step - 0.5) / len(ws)
                words.append({"word": " " + w, "start": round(a, 3), "end": round(a + 0.2, 3)})
            t += step
        segs.append({"start": words[0]["start"], "end": words[-1]["end"], "text": " ".join(lines[i:i + 2]),
                     "words": words})
    return {"language": "en", "segments": segs}


def test_two_topics_split_at_the_topic_change(embedder):
    s = timed(COOKING + ENGINES)
    cs = chap.chapters(s, embedder.encode([x.text for x in s]), duration=85.0)
    assert len(cs) == 2
    truth = len(COOKING) * 4.0  # the engine talk starts at 40 s
    assert abs(cs[1].start - truth) <= 4.0  # within one sentence window of the truth
    assert cs[0].start == 0.0 and cs[0].end == cs[1].start and cs[1].end == 85.0  # covers the video
    assert "pasta" in cs[0].title.lower() or "sauce" in cs[0].title.lower()
    assert "engine" in cs[1].title.lower() or "car" in cs[1].title.lower()
    assert cs[0].title != cs[1].title


def test_three_topics_and_snapping_to_a_scene_cut(embedder):
    s = timed(COOKING + ENGINES + GARDEN)
    vecs = embedder.encode([x.text for x in s])
    cuts = [17.0, 39.8, 81.2]  # 39.8 and 81.2 lie in the pauses at the two topic changes
    cs = chap.chapters(s, vecs, duration=112.0, cuts=cuts)
    assert [round(c.start, 1) for c in cs] == [0.0, 39.8, 81.2] and cs[-1].end == 112.0
    assert "rose" in cs[2].title.lower() or "garden" in cs[2].title.lower()


def test_one_topic_is_one_chapter_and_no_speech_still_covers_the_video(embedder):
    s = timed(COOKING)
    cs = chap.chapters(s, embedder.encode([x.text for x in s]), duration=41.0, fallback_title="cooking show")
    assert len(cs) == 1 and (cs[0].start, cs[0].end) == (0.0, 41.0)
    assert [c.public() for c in chap.chapters([], embedder.encode([]), 12.0, fallback_title="clip")] == [
        {"title": "clip", "start": 0.0, "end": 12.0}]


def test_depth_scores_find_the_valley():
    import numpy as np

    depth = chap.depth_scores(np.array([0.8, 0.7, 0.2, 0.75, 0.8], np.float32))
    assert int(np.argmax(depth)) == 2 and depth[2] == pytest.approx(0.6 + 0.6)


def test_summaries_are_central_sentences_in_time_order(embedder):
    s = timed(COOKING + ["Thanks.", "Okay."])
    doc = video_summary(s, embedder.encode([x.text for x in s]))
    assert doc["short"] and len(doc["short"]) <= 320 and len(doc["long"]) > len(doc["short"])
    assert "Thanks." not in doc["long"]  # too short to summarise anything
    starts = [x["start"] for x in doc["sentences"]]
    assert starts == sorted(starts) and all(x["text"] in COOKING for x in doc["sentences"])
    assert sum(x["in_short"] for x in doc["sentences"]) == len(split_sentences(doc["short"]))


def test_summary_document_from_a_transcript(embedder):
    t = transcript_of(COOKING + ENGINES)
    assert [x.text for x in transcript_sentences(t)] == COOKING + ENGINES
    doc = summary_document(t, embedder, duration=85.0, scene_cuts=scene_cuts({"scenes": [
        {"start_s": 0.0}, {"start_s": 39.8}]}), fallback_title="demo")
    assert [c["start"] for c in doc["chapters"]] == [0.0, 39.8] and doc["chapters"][-1]["end"] == 85.0
    assert doc["sentence_count"] == 20 and doc["short"] and doc["long"]
