"""The one gallery faces and voices share: storage, centroids, closest match, one-to-one assignment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from clipdex.people.gallery import Gallery, centroid, fold, pack, unit, unpack


@dataclass
class Entry:
    name: str
    embedding: bytes


def _entry(name: str, *v: float) -> Entry:
    return Entry(name, pack(unit(v)))


def test_packing_is_little_endian_float32_and_round_trips():
    v = np.array([1.5, -2.0, 0.25], np.float32)
    b = pack(v)
    assert b == np.array(v, "<f4").tobytes() and len(b) == 12
    assert b[:4] == bytes.fromhex("0000c03f")  # 1.5, least significant byte first
    assert unpack(b).tolist() == [1.5, -2.0, 0.25]


def test_unit_centroid_and_fold():
    assert np.linalg.norm(unit([3.0, 4.0])) == pytest.approx(1.0)
    assert unit([0.0, 0.0]).tolist() == [0.0, 0.0]  # zero stays zero, no NaN
    assert centroid([[1.0, 0.0], [0.0, 1.0]]).tolist() == pytest.approx([2 ** -0.5, 2 ** -0.5])
    # three samples along x and one along y: the mean leans 3:1 towards x
    folded = unpack(fold(pack(unit([1.0, 0.0])), 3, [0.0, 5.0]))
    assert folded.tolist() == pytest.approx((np.array([3.0, 1.0]) / np.sqrt(10)).tolist(), abs=1e-6)


def test_closest_needs_the_threshold_and_skips_other_sizes():
    g = Gallery.of([_entry("a", 1, 0, 0), _entry("b", 0, 1, 0), _entry("old", 1, 0)], threshold=0.7)
    hit = g.closest([0.9, 0.3, 0.0])
    assert hit is not None and hit[0].name == "a" and hit[1] == pytest.approx(0.9 / np.sqrt(0.9))
    assert g.closest([1.0, 1.0, 1.0]) is None  # 0.577 to each: below 0.7
    assert Gallery.of([], 0.5).closest([1.0]) is None
    tie = Gallery.of([_entry("first", 1, 0), _entry("second", 1, 0)], 0.5).closest([1.0, 0.0])
    assert tie[0].name == "first"


def test_assign_gives_each_entry_to_its_closest_label_only():
    g = Gallery.of([_entry("alice", 1, 0, 0), _entry("bob", 0, 1, 0)], threshold=0.8)
    # S1 and S2 are both close to alice; S2 is closer, so S1 stays unnamed rather than taking bob
    found = g.assign({"S1": [0.9, 0.1, 0.1], "S2": [1.0, 0.0, 0.05], "S3": [0.0, 0.95, 0.1]})
    assert {k: e.name for k, (e, _) in found.items()} == {"S2": "alice", "S3": "bob"}
    assert found["S2"][1] == pytest.approx(1.0 / np.sqrt(1.0025))
    assert g.assign({}) == {} and Gallery.of([], 0.8).assign({"S1": [1.0]}) == {}
