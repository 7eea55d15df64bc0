"""Dedupe: normalisation and shingles, the four MinHash stages, exact/URL keys, keep rule, boilerplate,
determinism across runs and task counts, bad input, missing intermediates, resume after a crash."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import numpy as np
import pytest
from datatrove.data import Document

from mmedc.dedup import (
    BoilerplateConfig,
    BoilerplateFinder,
    BoilerplateLineCounts,
    BoilerplateRemover,
    DedupConfig,
    MinhashBuckets,
    MinhashClusters,
    MinhashFilter,
    MinhashSignatures,
    normalize_text,
    normalize_url,
    optimal_bands,
    shingle_set,
)
from mmedc.dedup.normalize import iter_shingle_batches, shingle_language
from mmedc.samples.dedup import BASE_TEXTS, sample_documents

CONFIG = DedupConfig()
_letters = random.Random(0)
VOCAB = sorted({"".join(_letters.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6)) for _ in range(5000)})


def _split(docs: list[Document], rank: int, tasks: int) -> list[Document]:
    return [copy.deepcopy(d) for i, d in enumerate(docs) if i % tasks == rank]


def run_stages(docs, folder, tasks=2, config=CONFIG, tag_only=False, bucket_tasks=2) -> dict[str, Document]:
    """Run the four stages in-process over ``docs`` split round-robin into ``tasks``; return survivors by id."""
    folder = str(folder)
    for r in range(tasks):
        list(MinhashSignatures(folder, config).run(_split(docs, r, tasks), r, tasks))
    for r in range(bucket_tasks):
        list(MinhashBuckets(folder, config).run(None, r, bucket_tasks))
    list(MinhashClusters(folder, config).run(None, 0, 1))
    out = {}
    for r in range(tasks):
        for d in MinhashFilter(folder, config, tag_only=tag_only).run(_split(docs, r, tasks), r, tasks):
            out[d.id] = d
    return out


def words(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCAB) for _ in range(n))


# -- normalisation and shingles -------------------------------------------------------------------

def test_normalize_text_nfkc_case_digits_punctuation():
    assert normalize_text("  Ｈｅｌｌｏ,  WORLD!! 2024\tＡ-1c ") == "hello world 0 a 0c"
    assert normalize_text("糖尿病（Ⅱ型）、２０２４年。") == "糖尿病 ii型 0年"
    assert normalize_text("...!!!") == ""


def test_cjk_documents_get_character_shingles_and_others_word_shingles():
    zh = "糖尿病是一组代谢性疾病"
    assert shingle_language("zh", zh) == "char"
    assert shingle_language(None, zh) == "char"  # script fallback
    assert shingle_language(None, "インフルエンザは冬に流行します") == "char"
    assert shingle_language("en", "plain english words") == "word"
    sh = shingle_set(zh, "zh", char_ngram=3)
    assert "糖 尿 病" in sh and len(sh) == len(zh) - 2
    en = shingle_set("The patient has a mild fever today", "en", word_ngram=3)
    assert "the patient has" in en and len(en) == 5
    # Latin words inside Japanese text stay whole units
    assert "covid 0 ワ ク チ" in shingle_set("COVID-19ワクチンの接種", "ja", char_ngram=5)


def test_documents_shorter_than_one_shingle_are_one_shingle():
    assert shingle_set("fever", "en") == {"fever"}
    assert shingle_set("two words", "en") == {"two words"}
    assert shingle_set("", "en") == set()


def test_huge_documents_are_shingled_in_bounded_windows_with_the_same_set():
    text = words(30_000, seed=1)
    one_pass = set(next(iter_shingle_batches(text, "en", chunk_chars=10**9)))
    windows = list(iter_shingle_batches(text, "en", chunk_chars=20_000))
    assert len(windows) > 5
    assert set().union(*map(set, windows)) == one_pass
    zh = "".join(BASE_TEXTS["zh"]) * 50
    assert set().union(*map(set, iter_shingle_batches(zh, "zh", chunk_chars=3000))) == shingle_set(zh, "zh")


def test_normalize_url():
    a = normalize_url("https://www.Example.org/a/b/?utm_source=x&b=2&a=1#top")
    assert a == normalize_url("http://example.org:80/a/b?a=1&b=2")
    assert a != normalize_url("https://example.org/a/c")
    assert normalize_url("/data/books/anatomy.pdf") is None
    assert normalize_url("") is None and normalize_url(None) is None


def test_bands_and_rows_match_datasketch_lsh():
    from datasketch import MinHashLSH

    for threshold, weights in ((0.7, (0.1, 0.9)), (0.8, (0.5, 0.5))):
        lsh = MinHashLSH(threshold=threshold, num_perm=128, weights=weights)
        assert optimal_bands(threshold, 128, *weights) == (lsh.b, lsh.r)
    assert DedupConfig(bands=10, rows=12).band_rows == (10, 12)
    with pytest.raises(ValueError):
        DedupConfig(bands=20, rows=10)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_signature_estimates_jaccard(lang):
    base = BASE_TEXTS[lang][0] + BASE_TEXTS[lang][1]
    other = base[: len(base) * 2 // 3] + BASE_TEXTS[lang][1][:50]
    true = len(shingle_set(base, lang) & shingle_set(other, lang)) / len(shingle_set(base, lang) | shingle_set(other, lang))
    step = MinhashSignatures("/tmp/unused", DedupConfig(num_perm=256))
    est = float(np.mean(step.signature(base, lang) == step.signature(other, lang)))
    assert abs(est - true) < 0.1
    assert step.signature("", lang) is None


# -- the stages ---------------------------------------------------------------------------------

def test_known_duplicates_are_removed_for_their_reason_in_six_languages(tmp_path):
    docs = sample_documents()
    out = run_stages(docs, tmp_path)
    for d in docs:
        if d.metadata["expected"] == "keep":
            assert d.id in out, d.id
        else:
            assert d.id not in out, d.id
    removed = json.loads((tmp_path / "clusters" / "summary.json").read_text())["to_remove"]
    assert removed == {r: sum(d.metadata["expected"] == r for d in docs) for r in ("exact", "url", "near")}
    assert {d.metadata["language"] for d in docs if d.metadata["expected"] == "near"} == set(BASE_TEXTS)


def test_distinct_documents_are_all_kept(tmp_path):
    docs = [Document(text=words(200, seed=i), id=f"d{i}", metadata={"source": "web", "language": "en"}) for i in range(60)]
    docs += [Document(text=t, id=f"{lang}{i}", metadata={"source": "web"})  # no language: script fallback
             for lang, texts in BASE_TEXTS.items() for i, t in enumerate(texts)]
    assert set(run_stages(docs, tmp_path)) == {d.id for d in docs}


@pytest.mark.parametrize(
    "members,keeper",
    [
        # source priority beats length
        ([("a", "web", 3000), ("b", "textbook", 2800), ("c", "website", 2900)], "b"),
        # same source: the longest
        ([("a", "web", 2800), ("b", "web", 3000), ("c", "web", 2900)], "b"),
        # same source and length: the smallest id; unknown sources come last
        ([("z", "web", 2900), ("m", "web", 2900), ("a", "forum", 3000)], "m"),
    ],
)
def test_keep_rule(tmp_path, members, keeper):
    base = words(400, seed=7)
    docs = []
    for doc_id, source, length in members:
        text = (base + " " + words(200, seed=8))[:length]
        docs.append(Document(text=text, id=doc_id, metadata={"source": source, "language": "en"}))
    out = run_stages(docs, tmp_path, config=DedupConfig(exact=False, url=False, threshold=0.6))
    assert list(out) == [keeper]
    assert out[keeper].metadata["dedup_cluster"] == keeper
    assert out[keeper].metadata["dedup_cluster_size"] == 3


def _planted_corpus(n_families=12) -> list[Document]:
    docs = []
    rng = random.Random(3)
    for f in range(n_families):
        base = words(300, seed=100 + f).split()
        for v in range(rng.randint(1, 4)):
            w = list(base)
            for _ in range(v * 3):
                w[rng.randrange(len(w))] = f"edit{rng.randrange(10**6)}"
            docs.append(Document(text=" ".join(w), id=f"f{f}v{v}", metadata={"source": rng.choice(["web", "website"]),
                                                                          "language": "en"}))
    rng.shuffle(docs)
    return docs


def test_deterministic_across_runs_and_task_counts(tmp_path):
    docs = _planted_corpus() + sample_documents()
    kept = [set(run_stages(docs, tmp_path / name, tasks=t, bucket_tasks=b)) for name, t, b in
            (("a", 2, 2), ("b", 2, 2), ("c", 1, 1), ("d", 3, 5))]
    assert kept[0] == kept[1] == kept[2] == kept[3]
    assert len(kept[0]) < len(docs)
    assert (tmp_path / "a/clusters/00001.parquet").read_bytes() == (tmp_path / "b/clusters/00001.parquet").read_bytes()


def test_tag_only_keeps_everything_with_cluster_metadata(tmp_path):
    docs = sample_documents()
    out = run_stages(docs, tmp_path, tag_only=True)
    assert set(out) == {d.id for d in docs}
    assert out["website/zh0"].metadata["dedup_reason"] == "near"
    assert out["website/zh0"].metadata["dedup_cluster"] == "textbook/zh0"
    assert out["textbook/zh0"].metadata["dedup_cluster_size"] == 3
    assert "dedup_reason" not in out["textbook/zh0"].metadata


def test_bad_documents_are_kept_counted_and_do_not_break_the_run(tmp_path):
    huge = words(300_000, seed=5)  # ~2 MB: shingled in windows
    docs = [
        Document(text="", id="empty", metadata={"source": "web"}),
        Document(text="   ...  ", id="punct", metadata={"source": "web"}),
        Document(text="fever", id="one-word-a", metadata={"source": "web", "language": "en"}),
        Document(text="Fever!", id="one-word-b", metadata={"source": "web", "language": "en"}),
        Document(text="cough", id="one-word-c", metadata={"source": "web", "language": "en"}),
        Document(text=None, id="no-text", metadata={"source": "web"}),
        Document(text=huge, id="huge-a", metadata={"source": "web", "language": "en"}),
        Document(text=huge + " tail words here", id="huge-b", metadata={"source": "web", "language": "en"}),
    ]
    step = MinhashSignatures(str(tmp_path), CONFIG)
    list(step.run([copy.deepcopy(d) for d in docs], 0, 1))
    assert step.stats["empty"].total == 3 and step.stats["bad_text"].total == 1
    list(MinhashBuckets(str(tmp_path), CONFIG).run(None, 0, 1))
    list(MinhashClusters(str(tmp_path), CONFIG).run(None, 0, 1))
    out = {d.id for d in MinhashFilter(str(tmp_path), CONFIG).run([copy.deepcopy(d) for d in docs], 0, 1)}
    assert out == {"empty", "punct", "one-word-b", "one-word-c", "no-text", "huge-b"}


# -- missing or mismatched intermediates ----------------------------------------------------------

def test_missing_intermediate_files_are_clear_errors(tmp_path):
    docs = sample_documents()
    run_stages(docs, tmp_path)
    (tmp_path / "pairs" / "band_003.pairs").unlink()
    with pytest.raises(FileNotFoundError, match="band_003.pairs"):
        list(MinhashClusters(str(tmp_path), CONFIG).run(None, 0, 1))
    (tmp_path / "signatures" / "00001.json").unlink()
    with pytest.raises(FileNotFoundError, match="00001.json"):
        list(MinhashBuckets(str(tmp_path), CONFIG).run(None, 0, 1))
    (tmp_path / "buckets" / "band_000" / "00000.bin").unlink()
    other = tmp_path / "other"
    with pytest.raises(FileNotFoundError, match="MinhashSignatures"):
        list(MinhashBuckets(str(other), CONFIG).run(None, 0, 1))
    with pytest.raises(FileNotFoundError, match="summary.json"):
        list(MinhashFilter(str(other), CONFIG).run(iter([]), 0, 1))


def test_filter_refuses_other_input_task_count_or_config(tmp_path):
    docs = sample_documents()
    run_stages(docs, tmp_path)
    with pytest.raises(ValueError, match="same task count"):
        list(MinhashFilter(str(tmp_path), CONFIG).run(_split(docs, 0, 3), 0, 3))
    with pytest.raises(ValueError, match="stage 1 saw"):
        list(MinhashFilter(str(tmp_path), CONFIG).run(_split(docs[1:], 0, 2), 0, 2))
    with pytest.raises(ValueError, match="another DedupConfig"):
        list(MinhashClusters(str(tmp_path), DedupConfig(threshold=0.9)).run(None, 0, 1))


def test_a_crashed_signature_task_is_detected_and_resumes_exactly(tmp_path):
    docs = _planted_corpus() + sample_documents()
    clean = set(run_stages(docs, tmp_path / "clean"))
    work = str(tmp_path / "crash")

    def crashing(items):
        for i, d in enumerate(items):
            if i == 5:
                raise RuntimeError("killed")
            yield d

    list(MinhashSignatures(work, CONFIG).run(_split(docs, 0, 2), 0, 2))
    with pytest.raises(RuntimeError):
        list(MinhashSignatures(work, CONFIG).run(crashing(_split(docs, 1, 2)), 1, 2))
    with pytest.raises(FileNotFoundError, match="00001.json"):  # never a silent "no duplicates"
        list(MinhashBuckets(work, CONFIG).run(None, 0, 1))
    assert set(run_stages(docs, work)) == clean


# -- boilerplate ----------------------------------------------------------------------------------

def test_boilerplate_lines_removed_per_source_but_not_from_copies(tmp_path):
    bp = BoilerplateConfig(min_docs=5)
    disclaimer = "This page is for general information only and does not replace advice from your doctor."
    docs = [Document(text=f"Note {i}\n{words(30, seed=i)}\n{disclaimer}", id=f"w{i}", metadata={"source": "web"})
            for i in range(8)]
    # the same line in 3 textbook pages only: under the per-source threshold
    docs += [Document(text=f"{words(30, seed=50 + i)}\n{disclaimer}", id=f"t{i}", metadata={"source": "textbook"})
             for i in range(3)]
    # six copies of one article: every line repeats, but it is a duplicate, not boilerplate
    article = "\n".join(words(12, seed=90 + k) for k in range(6))
    docs += [Document(text=article, id=f"copy{i}", metadata={"source": "web"}) for i in range(6)]
    for r in range(2):
        list(BoilerplateLineCounts(str(tmp_path), bp).run(_split(docs, r, 2), r, 2))
    list(BoilerplateFinder(str(tmp_path), bp).run(None, 0, 1))
    remover = BoilerplateRemover(str(tmp_path), bp)
    out = {d.id: d for d in remover.run([copy.deepcopy(d) for d in docs], 0, 1)}
    assert all(disclaimer not in out[f"w{i}"].text and out[f"w{i}"].metadata["boilerplate_removed"] == 1 for i in range(8))
    assert all(disclaimer in out[f"t{i}"].text for i in range(3))
    assert all(out[f"copy{i}"].text == article for i in range(6))


def test_boilerplate_finder_needs_the_counts(tmp_path):
    with pytest.raises(FileNotFoundError, match="BoilerplateLineCounts"):
        list(BoilerplateFinder(str(tmp_path)).run(None, 0, 1))


# -- the recipe -----------------------------------------------------------------------------------

def test_recipe_demo_removes_planted_duplicates_and_resumes(tmp_path):
    from mmedc.recipes.dedupe import demo

    summary = demo(tmp_path, tasks=2, workers=1)
    assert summary["wrongly_kept"] == [] and summary["wrongly_removed"] == []
    assert summary["documents_in"] - summary["documents_out"] == summary["expected_removed"]
    assert summary["disclaimer_lines_left"] == 0
    report = json.loads(Path(summary["report"]).read_text())
    assert report["removed_written"] == summary["expected_removed"]
    from mmedc.io.parquet import iter_records

    removed = list(iter_records(str(tmp_path / "dedup_work" / "removed")))
    assert {json.loads(r["metadata"])["dedup_reason"] for r in removed} == {"exact", "url", "near"}
    first = sorted(r["id"] for r in iter_records(summary["output"], columns=["id"]))
    # kill simulation: the last stage's rank 1 lost its output and completion marker
    for p in (tmp_path / "dedup").glob("00001_*.parquet"):
        p.unlink()
    (tmp_path / "dedup_work" / "logs" / "filter" / "completions" / "00001").unlink()
    again = demo(tmp_path, tasks=2, workers=1)
    assert sorted(r["id"] for r in iter_records(again["output"], columns=["id"])) == first


def test_a_bucket_task_that_never_finished_is_an_error_until_it_reruns(tmp_path):
    docs = sample_documents()
    clean = set(run_stages(docs, tmp_path / "clean"))
    work = str(tmp_path / "w")
    for r in range(2):
        list(MinhashSignatures(work, CONFIG).run(_split(docs, r, 2), r, 2))
    list(MinhashBuckets(work, CONFIG).run(None, 0, 2))  # rank 1 of 2 was killed
    with pytest.raises(FileNotFoundError, match=r"pairs/band_001\.pairs"):
        list(MinhashClusters(work, CONFIG).run(None, 0, 1))
    list(MinhashBuckets(work, CONFIG).run(None, 1, 2))
    list(MinhashClusters(work, CONFIG).run(None, 0, 1))
    out = set()
    for r in range(2):
        out |= {d.id for d in MinhashFilter(work, CONFIG).run(_split(docs, r, 2), r, 2)}
    assert out == clean


def test_command_line_tag_only_without_boilerplate(tmp_path, capsys):
    from mmedc.io.parquet import ShardedParquetWriter, iter_records
    from mmedc.recipes.dedupe import main

    docs = sample_documents()
    with ShardedParquetWriter(str(tmp_path / "in")) as w:
        for d in docs:
            w.write(d, rank=0)
    assert main(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--tag-only",
                 "--no-boilerplate", "--tasks", "1", "--workers", "1"]) == 0
    assert "removed near" in capsys.readouterr().out
    rows = list(iter_records(str(tmp_path / "out")))
    assert len(rows) == len(docs)
    reasons = {r["id"]: json.loads(r["metadata"]).get("dedup_reason") for r in rows}
    assert reasons == {d.id: (None if d.metadata["expected"] == "keep" else d.metadata["expected"]) for d in docs}
