"""Training data: packing, token accounting, mixture, determinism, resume, held-out split, bad files."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from datatrove.data import Document

from mmedc.io import ShardedParquetWriter, merge_manifests
from mmedc.train.data import (
    DataState,
    PackedStream,
    Packer,
    eval_blocks,
    group_characters,
    is_holdout,
    mixture_rates,
    train_tokenizer,
)

WORDS = {
    "en": "patient fever cough diabetes insulin heart blood pressure kidney liver treatment dose".split(),
    "zh": list("患者发热咳嗽糖尿病胰岛素心脏血压肾脏肝脏治疗剂量"),
    "fr": "patient fièvre toux diabète insuline cœur sang pression rein foie traitement dose".split(),
}


def _text(rng: random.Random, lang: str, n_words: int) -> str:
    sep = "" if lang == "zh" else " "
    return sep.join(rng.choice(WORDS[lang]) for _ in range(n_words)) + ("。" if lang == "zh" else ".")


def write_corpus(folder, spec: dict[tuple[str, str], int], seed: int = 0, row_group_rows: int = 20,
                 long_every: int = 15) -> list[Document]:
    """Shards with ``spec[(lang, source)]`` documents each; some longer than a block, one empty."""
    rng = random.Random(seed)
    docs = []
    for (lang, source), n in spec.items():
        for i in range(n):
            words = rng.randint(3, 40) if i % long_every else rng.randint(150, 250)
            docs.append(Document(text=_text(rng, lang, words), id=f"{lang}-{source}-{i}",
                                 metadata={"language": lang, "language_score": 1.0, "source": source}))
    rng.shuffle(docs)
    docs.append(Document(text="", id="empty-0", metadata={"language": "en", "source": "web"}))
    with ShardedParquetWriter(str(folder), max_rows=80, row_group_rows=row_group_rows) as w:
        for d in docs:
            w.write(d, rank=0)
    merge_manifests(str(folder))
    return docs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    docs = write_corpus(folder, {("en", "web"): 120, ("zh", "web"): 60, ("fr", "textbook"): 60})
    tok = train_tokenizer(str(folder), vocab_size=400, max_docs=500)
    return folder, docs, tok


def _enc(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=True)["input_ids"] + [tok.eos_token_id]


def _take(stream, n):
    out = []
    for b in stream:
        out.append(b)
        if len(out) == n:
            break
    return out


# --- packing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("boundary", [True, False])
def test_packer_no_padding_eos_and_positions(boundary):
    rng = np.random.default_rng(0)
    eos = 1
    docs = [np.append(rng.integers(3, 50, size=n), eos) for n in (5, 17, 2, 40, 9, 31, 3, 64, 12)]
    p = Packer(seq_len=16, doc_boundary_attention=boundary)
    blocks = [b for i, d in enumerate(docs) for b in p.add(i, d)]
    stream = np.concatenate(docs)
    assert len(blocks) == len(stream) // 16
    assert p.pending_len == len(stream) % 16
    got = np.concatenate([b[0] for b in blocks])
    np.testing.assert_array_equal(got, stream[: len(got)])  # order kept, nothing padded or lost
    # document starts inside blocks
    starts = np.cumsum([0] + [len(d) for d in docs])[:-1]
    for k, (ids, pos, labels, _nxt) in enumerate(blocks):
        assert len(ids) == 16 and len(pos) == 16
        for i in range(16):
            g = k * 16 + i
            doc_start = g in set(starts)
            if boundary:
                if doc_start or i == 0:
                    assert pos[i] == 0
                else:
                    assert pos[i] == pos[i - 1] + 1
                assert (labels[i] == -100) == (doc_start and i > 0)
            else:
                assert pos[i] == i and labels[i] == ids[i]
        # the token before each interior document start is the EOS of the previous document
        for i in range(1, 16):
            if k * 16 + i in set(starts):
                assert ids[i - 1] == eos


def test_stream_exact_token_accounting(corpus):
    folder, docs, tok = corpus
    seq_len = 64
    stream = PackedStream(str(folder), tok, seq_len, seed=1, epochs=1, workers=0, window_row_groups=3)
    blocks = list(stream)
    nonempty = [d for d in docs if d.text]
    expected_tokens = sum(len(_enc(tok, d.text)) for d in nonempty)
    assert stream.stats["documents"] == len(nonempty)
    assert stream.stats["skipped_short_or_empty"] == 1
    assert stream.stats["tokens"] == expected_tokens
    assert len(blocks) == expected_tokens // seq_len  # only the last partial block is left over
    assert all(len(b.input_ids) == seq_len for b in blocks)
    # blocks are exactly the documents' tokens (+EOS) in the stream's order
    order = [doc for w in range(stream.n_windows) for doc in stream.window_docs(0, w)]
    by_id = {d.id: d.text for d in nonempty}
    flat = np.concatenate([_enc(tok, by_id[i]) for i, _g, _t in order])
    got = np.concatenate([b.input_ids for b in blocks])
    np.testing.assert_array_equal(got, flat[: len(got)])
    assert int((got == tok.eos_token_id).sum()) == int((flat[: len(got)] == tok.eos_token_id).sum())


# --- determinism and resume ----------------------------------------------------------------------


def test_same_seed_same_order_other_seed_differs(corpus):
    folder, _docs, tok = corpus
    a = _take(PackedStream(str(folder), tok, 32, seed=7, workers=0), 30)
    b = _take(PackedStream(str(folder), tok, 32, seed=7, workers=0), 30)
    c = _take(PackedStream(str(folder), tok, 32, seed=8, workers=0), 30)
    assert all(np.array_equal(x.input_ids, y.input_ids) for x, y in zip(a, b))
    assert not all(np.array_equal(x.input_ids, y.input_ids) for x, y in zip(a, c))


def test_resume_from_any_block_reproduces_the_rest(corpus):
    folder, _docs, tok = corpus
    kw = dict(seed=3, workers=0, window_row_groups=2, mixture={"en": 1, "zh": 1, "fr": 1})
    ref = _take(PackedStream(str(folder), tok, 48, **kw), 450)  # crosses windows and an epoch
    assert {b.state.epoch for b in ref} >= {0, 1}
    for k in (0, 5, 37, 101, 397, len(ref) - 20):
        state = DataState(**ref[k].state.to_dict())
        resumed = _take(PackedStream(str(folder), tok, 48, state=state, **kw), 15)
        for x, y in zip(resumed, ref[k + 1 : k + 16]):
            np.testing.assert_array_equal(x.input_ids, y.input_ids)
            np.testing.assert_array_equal(x.position_ids, y.position_ids)
            np.testing.assert_array_equal(x.labels, y.labels)


def test_tokenizer_worker_processes_match_in_process(corpus):
    folder, _docs, tok = corpus
    a = _take(PackedStream(str(folder), tok, 64, seed=5, workers=0, batch_docs=16), 40)
    b = _take(PackedStream(str(folder), tok, 64, seed=5, workers=2, batch_docs=16), 40)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.input_ids, y.input_ids)
        assert x.state == y.state


def test_ranks_split_the_data(corpus):
    folder, _docs, tok = corpus
    r0 = PackedStream(str(folder), tok, 32, seed=2, workers=0, rank=0, world_size=2, epochs=1, window_row_groups=2)
    r1 = PackedStream(str(folder), tok, 32, seed=2, workers=0, rank=1, world_size=2, epochs=1, window_row_groups=2)
    ids0 = {d for w in range(r0.n_windows) if w % 2 == 0 for d, _g, _t in r0.window_docs(0, w)}
    ids1 = {d for w in range(r1.n_windows) if w % 2 == 1 for d, _g, _t in r1.window_docs(0, w)}
    assert ids0 and ids1 and not ids0 & ids1
    assert len(ids0 | ids1) == 240
    with pytest.raises(ValueError, match="rank"):
        PackedStream(str(folder), tok, 32, state=DataState(rank=0, world_size=2), rank=0, world_size=1)


# --- mixture -------------------------------------------------------------------------------------


def test_mixture_rates_proportion_and_rate():
    chars = {"en/web": 300, "zh/web": 100, "fr/textbook": 100, "en/textbook": 100}
    r = mixture_rates({"en": 0.5, "zh": 0.25, "fr": 0.25}, chars)
    total = sum(chars.values())
    # every English group shares "en": its 400 characters become half of 600
    assert r["en/web"] == pytest.approx(0.5 * total / 400) and r["en/textbook"] == r["en/web"]
    assert r["zh/web"] == pytest.approx(0.25 * total / 100)
    mixed = {k: chars[k] * r[k] for k in chars}
    assert sum(mixed.values()) == pytest.approx(total)
    assert (mixed["en/web"] + mixed["en/textbook"]) / total == pytest.approx(0.5)
    # most specific key wins; unmatched groups are dropped
    r = mixture_rates({"en/textbook": 2.0, "web": 1.0}, chars, mode="rate")
    assert r == {"en/web": 1.0, "zh/web": 1.0, "fr/textbook": 0.0, "en/textbook": 2.0}
    with pytest.raises(ValueError, match="no data for"):
        mixture_rates({"ja": 1.0, "en": 1.0}, chars)


def test_mixture_reaches_target_shares(corpus):
    folder, docs, tok = corpus
    chars = group_characters(str(folder))
    true = Counter()
    for d in docs:
        if d.text:
            true[f"{d.metadata['language']}/{d.metadata['source']}"] += len(d.text)
    true["en/web"] += 0  # the empty document counts 0 characters
    assert chars == {k: v for k, v in true.items()}  # manifest counts match the data
    target = {"en": 0.2, "zh": 0.5, "fr": 0.3}
    s = PackedStream(str(folder), tok, 32, seed=11, workers=0, mixture=target)
    got = Counter()
    epochs = 6
    for e in range(epochs):
        for w in range(s.n_windows):
            for _id, g, text in s.window_docs(e, w):
                got[g.split("/")[0]] += len(text)
    total = sum(got.values())
    for lang, share in target.items():
        assert got[lang] / total == pytest.approx(share, abs=0.04)
    assert total / epochs == pytest.approx(sum(chars.values()), rel=0.1)  # size kept


# --- evaluation split and bad input --------------------------------------------------------------


def test_holdout_disjoint_and_eval_blocks(corpus):
    folder, docs, tok = corpus
    frac = 0.2
    s = PackedStream(str(folder), tok, 32, seed=4, workers=0, holdout_fraction=frac)
    train_ids = {d for w in range(s.n_windows) for d, _g, _t in s.window_docs(0, w)}
    held = {d.id for d in docs if d.text and is_holdout(d.id, frac, 4)}
    assert held and not train_ids & held
    assert len(train_ids) + len(held) == len(docs) - 1
    ev = eval_blocks(str(folder), tok, 32, max_tokens_per_lang=10_000, holdout_fraction=frac, seed=4,
                     doc_boundary_attention=False)
    assert set(ev) == {"en", "zh", "fr"}
    for lang, blocks in ev.items():
        expected = sum(len(_enc(tok, d.text)) for d in docs if d.id in held and d.metadata["language"] == lang)
        assert sum(int((b.labels != -100).sum()) for b in blocks) == expected  # padding is never scored
        assert len(blocks) == -(-expected // 32)  # the last block is padded, not dropped
    capped = eval_blocks(str(folder), tok, 32, max_tokens_per_lang=100, holdout_fraction=frac, seed=4)
    assert all(len(b) == 4 for b in capped.values())  # 100 tokens -> 3 full blocks + 1 padded


def test_unreadable_shard_is_skipped_and_counted(corpus, tmp_path, caplog):
    folder, _docs, tok = corpus
    import shutil

    bad = tmp_path / "mixed"
    shutil.copytree(folder, bad)
    (bad / "zz_broken.parquet").write_bytes(b"PAR1 this is not parquet")
    from datatrove.utils.logging import logger

    messages = []
    hid = logger.add(lambda m: messages.append(str(m)), level="ERROR")
    try:
        s = PackedStream(str(bad), tok, 32, seed=1, workers=0, epochs=1)
        blocks = list(s)
    finally:
        logger.remove(hid)
    assert s.stats["bad_files"] == 1 and blocks
    assert any("zz_broken.parquet" in m and "not a readable Parquet" in m for m in messages)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        PackedStream(str(tmp_path / "nothing"), tok, 32)


def test_torch_dataset_view(corpus):
    torch = pytest.importorskip("torch")
    from mmedc.train.data import packed_dataset

    folder, _docs, tok = corpus
    loader = torch.utils.data.DataLoader(packed_dataset(PackedStream(str(folder), tok, 32, seed=1, workers=0)),
                                         batch_size=4)
    batch = next(iter(loader))
    assert batch["input_ids"].shape == (4, 32) and batch["input_ids"].dtype == torch.int64
    assert set(batch) == {"input_ids", "position_ids", "labels"}
    ref = _take(PackedStream(str(folder), tok, 32, seed=1, workers=0), 4)
    assert torch.equal(batch["input_ids"], torch.from_numpy(np.stack([b.input_ids for b in ref])))
