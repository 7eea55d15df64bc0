"""The textbooks recipe end to end: generated books -> shards, resume after a killed task, the CLI door."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mmedc.io.layout import logs_dir
from mmedc.io.parquet import MANIFEST_FILE, iter_records, list_shards
from mmedc.recipes.textbooks import build_parser, build_pipeline, demo, main
from mmedc.samples.textbooks import TEXTS, normalise

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    summary = demo(workdir)
    return workdir, summary


def rows(output: Path) -> list[dict]:
    return sorted(iter_records(str(output)), key=lambda r: r["id"])


def test_demo_writes_clean_language_checked_shards(demo_run):
    workdir, summary = demo_run
    assert summary["books_in"] == 3 and summary["documents_out"] == 3
    assert summary["ocr_pages"] > 0 and summary["pages"] > summary["ocr_pages"]
    assert summary["languages"] == {"en": 1, "zh": 1, "ru": 1}
    records = rows(Path(summary["output"]))
    assert len(records) == 3
    for r in records:
        meta = json.loads(r["metadata"])
        assert r["source"] == "textbook" and r["title"] == TEXTS[r["lang"]]["title"]
        assert meta["book_language"] == r["lang"] and "language_mismatch" not in meta
        assert "\f" not in r["text"] and r["lang_score"] > 0.5
        assert meta["cleanup"]["chars_out"] == len(r["text"])
        # the first chapter's text made it through, without the title page
        first_para = TEXTS[r["lang"]]["chapters"][0][1][0]
        assert normalise(first_para)[:40] in normalise(r["text"])
        assert not r["text"].startswith(TEXTS[r["lang"]]["title"])
    manifest = json.loads((Path(summary["output"]) / MANIFEST_FILE).read_text())
    assert manifest["rows"] == 3


def test_rerun_resumes_without_duplicates(demo_run):
    workdir, summary = demo_run
    output = Path(summary["output"])
    before = rows(output)
    logs = Path(logs_dir(str(output)))
    markers = sorted((logs / "completions").iterdir())
    assert len(markers) == 3
    # a task killed mid-run: its completion marker is missing and it left a temporary shard behind
    markers[0].unlink()
    (output / "00000_00009.parquet.tmp").write_bytes(b"half a shard")
    argv = ["--input", summary["input"], "--output", str(output), "--tasks", "3", "--workers", "1"]
    assert main(argv) == 0
    after = rows(output)
    assert [r["id"] for r in after] == [r["id"] for r in before]
    assert [r["text"] for r in after] == [r["text"] for r in before]
    assert not any(p.endswith(".tmp") for p in os.listdir(output))
    assert len(list_shards(str(output))) == 3


def test_quick_demo_without_ocr(tmp_path, monkeypatch):
    from mmedc.textbooks import ocr as ocr_mod

    def no_tesseract():
        raise AssertionError("tesseract must not be needed without OCR")

    monkeypatch.setattr(ocr_mod, "installed_languages", no_tesseract)
    summary = demo(tmp_path, ocr=False, executor="local", tasks=1, workers=1)
    assert summary["documents"] == 2 and summary["ocr_pages"] == 0
    assert summary["languages"] == {"en": 1, "zh": 1}


def test_options_reach_the_blocks(tmp_path):
    args = build_parser().parse_args(["--input", "in", "--output", "out", "--engine", "pdfplumber", "--split", "chapter", "--no-langid",
                                      "--disable-rule", "bibliography", "--language", "fr", "--rotate-pages"])
    assert args.rotate_pages is True
    assert args.engine == "pdfplumber" and args.disable_rule == ["bibliography"]
    steps = build_pipeline(str(tmp_path), str(tmp_path / "out"), engine="pdfplumber", split="chapter",
                           language="fr", cleanup={"bibliography": False}, langid=False, rotate_pages=True)
    reader, cleanup, writer = steps
    assert reader.engine == "pdfplumber" and reader.split == "chapter" and reader.language == "fr"
    assert reader.rotate_pages is True
    assert cleanup.rules["bibliography"] is False and cleanup.rules["toc"] is True
    reader = build_pipeline(str(tmp_path), str(tmp_path / "out"), language="rus",
                            reader_options={"min_ocr_confidence": 55, "stored_image": False})[0]
    assert reader.language == "ru" and reader.min_ocr_confidence == 55 and reader.stored_image is False
    with pytest.raises(SystemExit):
        main(["--input", str(tmp_path), "--output", str(tmp_path / "o"), "--disable-rule", "nonsense"])


def test_language_check_counts_mismatches():
    from datatrove.data import Document

    from mmedc.recipes.textbooks import LanguageCheck

    check = LanguageCheck()
    docs = [Document(text="x", id="a", metadata={"book_language": "en+fr", "language": "fr"}),
            Document(text="y", id="b", metadata={"book_language": "chi_sim", "language": "zh"}),
            Document(text="z", id="c", metadata={"book_language": "ru", "language": "uk"})]
    out = list(check.run(iter(docs)))
    assert [d.metadata.get("language_mismatch") for d in out] == [None, None, True]
    totals = {k: v.total for k, v in check.stats.stats.items()}
    assert totals["language_agrees"] == 2 and totals["language_mismatch"] == 1 and totals["mismatch_ru_as_uk"] == 1
