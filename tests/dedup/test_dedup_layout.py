"""Dedup layout: the boilerplate module and its old path, declared extras, the shared zh/ja rule, and
``dedup_cluster_size`` on every surviving document."""

from __future__ import annotations

import copy

from datatrove.data import Document

from mmedc import lang
from mmedc.dedup import DedupConfig, MinhashBuckets, MinhashClusters, MinhashFilter, MinhashSignatures
from mmedc.dedup.normalize import detect_script_language, shingle_language


def test_old_exact_path_is_the_boilerplate_module():
    from mmedc.dedup import boilerplate, exact

    assert exact.BoilerplateRemover is boilerplate.BoilerplateRemover
    assert exact.text_key is boilerplate.text_key


def test_blocks_needing_the_dedup_extra_declare_it():
    from mmedc.dedup.boilerplate import BoilerplateFinder, BoilerplateLineCounts, BoilerplateRemover

    for block in (MinhashSignatures, BoilerplateLineCounts, BoilerplateFinder, BoilerplateRemover):
        assert "xxhash" in block._requires_dependencies, block
    assert "datasketch" in MinhashSignatures._requires_dependencies


def test_dedup_imports_xxhash_lazily():
    import ast
    from pathlib import Path

    import mmedc.dedup as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name for n in top for a in n.names} | {n.module for n in top if isinstance(n, ast.ImportFrom)}
        assert "xxhash" not in names and "datasketch" not in names, path.name


def test_zh_ja_rule_is_the_language_table_one():
    samples = ["糖尿病は血糖値が高くなる病気です。治療には食事療法が必要です。",
               "糖尿病是一种以高血糖为特征的代谢性疾病，需要长期治疗。",
               "Diabetes is a chronic disease.", "混合 text 糖尿病 with some English words here"]
    for text in samples:
        assert detect_script_language(text) == lang.script_language(text, sample_chars=2000)[0]
    assert shingle_language("zh-Hant", "") == "char"
    assert shingle_language("jpn", "") == "char"
    assert shingle_language(None, samples[0]) == "char"
    assert shingle_language(None, samples[2]) == "word"


def test_every_survivor_carries_its_cluster_size(tmp_path):
    base = ("Hypertension is a common condition in which the long-term force of the blood against the artery "
            "walls is high enough that it may eventually cause health problems such as heart disease.")
    other = ("Asthma is a condition in which the airways narrow and swell and may produce extra mucus, which "
             "can make breathing difficult and trigger coughing, wheezing and shortness of breath.")
    docs = [Document(text=base, id="a", metadata={"source": "web"}),
            Document(text=base, id="b", metadata={"source": "textbook"}),
            Document(text=base + " ", id="c", metadata={"source": "web"}),
            Document(text=other, id="d", metadata={"source": "web"})]
    cfg = DedupConfig()
    list(MinhashSignatures(str(tmp_path), cfg).run(copy.deepcopy(docs), 0, 1))
    list(MinhashBuckets(str(tmp_path), cfg).run(None, 0, 1))
    list(MinhashClusters(str(tmp_path), cfg).run(None, 0, 1))
    out = {d.id: d for d in MinhashFilter(str(tmp_path), cfg).run(copy.deepcopy(docs), 0, 1)}
    assert sorted(out) == ["b", "d"]
    assert out["b"].metadata["dedup_cluster_size"] == 3
    assert out["d"].metadata["dedup_cluster_size"] == 1
    assert "dedup_cluster" not in out["d"].metadata


def test_a_missing_extra_is_an_import_error_at_construction(tmp_path):
    import subprocess
    import sys

    code = (
        "import importlib.util, sys\n"
        "orig = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'xxhash' else orig(n, *a)\n"
        "sys.modules['xxhash'] = None\n"
        "import mmedc.dedup\n"
        "from mmedc.dedup import MinhashSignatures\n"
        "try:\n"
        f"    MinhashSignatures({str(tmp_path)!r})\n"
        "except ImportError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "ERR" in out.stdout and "xxhash" in out.stdout, out.stdout + out.stderr
