"""mmedc.eval: item loading and validation, the scorer's arithmetic, a tiny model trained here."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models, one thread (tests/conftest.py)

from mmedc.eval.items import PRESETS, FieldMap, MCQItem, load_items  # noqa: E402
from mmedc.eval.prompts import build_prompt, continuation, extract_answer  # noqa: E402
from mmedc.eval.run import evaluate, evaluate_model, format_table, main  # noqa: E402
from mmedc.eval.score import loglikelihoods, split_request, unknown_token_share  # noqa: E402

ITEMS = [
    {"question": "Which hormone lowers blood glucose?", "options": {"A": "insulin", "B": "glucagon", "C": "cortisol"},
     "answer_idx": "A", "language": "en"},
    {"question": "Which organ produces bile?", "options": {"A": "kidney", "B": "liver", "C": "spleen"},
     "answer_idx": "B", "language": "en"},
    {"question": "Which vitamin deficiency causes scurvy?", "options": {"A": "vitamin D", "B": "vitamin K",
     "C": "vitamin C"}, "answer_idx": "C", "language": "en"},
    {"question": "哪种激素降低血糖？", "options": {"A": "胰高血糖素", "B": "胰岛素", "C": "皮质醇"}, "answer_idx": "B",
     "language": "zh"},
    {"question": "Какой орган вырабатывает желчь?", "options": {"A": "печень", "B": "почка", "C": "селезёнка"},
     "answer_idx": "A", "language": "ru"},
    {"question": "¿Qué vitamina previene el escorbuto?", "options": {"A": "vitamina A", "B": "vitamina C",
     "C": "vitamina B12"}, "answer_idx": "B", "language": "es"},
]


def _tokenizer(texts):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def _model(vocab: int, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512)
    return LlamaForCausalLM(cfg)


@pytest.fixture(scope="module")
def qfile(tmp_path_factory):
    path = tmp_path_factory.mktemp("mcq") / "questions.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ITEMS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def items(qfile):
    items, rejected = load_items(qfile)
    assert not rejected
    return items


@pytest.fixture(scope="module")
def tok(items):
    texts = [build_prompt(it) + continuation(it, j) for it in items for j in range(len(it.options))]
    return _tokenizer(texts * 3)


@pytest.fixture(scope="module")
def trained(items, tok):
    """A tiny model trained here on the right answers of the questions."""
    model = _model(len(tok))
    opt = torch.optim.AdamW(model.parameters(), lr=6e-3)
    texts = [build_prompt(it) + continuation(it, it.answer) for it in items]
    batch = tok(texts, padding=True, return_tensors="pt")
    ids = torch.cat([torch.full((len(texts), 1), tok.bos_token_id), batch["input_ids"]], 1)
    mask = torch.cat([torch.ones(len(texts), 1, dtype=torch.long), batch["attention_mask"]], 1)
    labels = ids.masked_fill(mask == 0, -100)
    model.train()
    for _ in range(60):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    return model


def test_loglikelihood_equals_hand_computed_sum(items, tok):
    model = _model(len(tok), seed=1).eval()
    it = items[0]
    ctx, cont = build_prompt(it), continuation(it, 0)
    ctx_ids, cont_ids = split_request(tok, ctx, cont)
    ids = torch.tensor([ctx_ids + cont_ids])
    with torch.no_grad():
        logp = model(input_ids=ids).logits[0].float().log_softmax(-1)
    expected = sum(float(logp[len(ctx_ids) + k - 1, t]) for k, t in enumerate(cont_ids))
    (got, n), = loglikelihoods(model, tok, [(ctx, cont)], batch_size=1)
    assert n == len(cont_ids)
    assert got == pytest.approx(expected, abs=1e-4)
    # padding in a batch of unequal lengths changes nothing
    reqs = [(build_prompt(x), continuation(x, j)) for x in items for j in range(len(x.options))]
    one = loglikelihoods(model, tok, reqs, batch_size=1)
    many = loglikelihoods(model, tok, reqs, batch_size=7)
    assert [round(a, 3) for a, _ in one] == [round(b, 3) for b, _ in many]


def test_acc_and_acc_norm_follow_the_hand_computed_case(monkeypatch):
    # option A: 6 characters, log-likelihood -6 (-1.0 per character); option B: 2 characters, -4 (-2.0)
    item_a = MCQItem("a", "q?", ["aaaaaa", "bb"], frozenset({0}), "en")
    item_b = MCQItem("b", "q?", ["aaaaaa", "bb"], frozenset({1}), "fr")
    fixed = {"aaaaaa": (-6.0, 3), "bb": (-4.0, 1)}
    monkeypatch.setattr("mmedc.eval.run.loglikelihoods",
                        lambda model, tok, reqs, **kw: [fixed[c.strip()] for _, c in reqs])
    res = evaluate_model(None, None, [item_a, item_b])
    # acc picks B (-4 > -6) for both; acc_norm picks A (-1.0 > -2.0) for both
    assert res["by_language"]["en"] == {"n": 1, "acc": 0.0, "acc_norm": 1.0}
    assert res["by_language"]["fr"] == {"n": 1, "acc": 1.0, "acc_norm": 0.0}
    assert res["overall"]["acc"] == 0.5 and res["overall"]["acc_norm"] == 0.5
    assert res["overall"]["acc_macro"] == 0.5


def test_trained_model_scores_above_untrained(items, tok, trained):
    untrained = _model(len(tok), seed=3).eval()
    good = evaluate_model(trained, tok, items, batch_size=4)
    base = evaluate_model(untrained, tok, items, batch_size=4)
    assert good["overall"]["acc"] >= 5 / 6
    assert good["overall"]["acc"] > base["overall"]["acc"]
    assert set(good["by_language"]) == {"en", "zh", "ru", "es"}
    # letter scoring and few-shot prompts run on the same items
    letter = evaluate_model(trained, tok, items, score="letter", n_shot=1)
    assert letter["overall"]["n"] == len(items)
    assert all(p["pred"] in range(3) for p in letter["predictions"])


def test_generation_keeps_the_rationale(items, tok, trained):
    res = evaluate_model(trained, tok, items, mode="generate", max_new_tokens=8, batch_size=3)
    assert res["overall"]["n"] == len(items)
    assert all(isinstance(p["rationale"], str) for p in res["predictions"])
    unparsed = sum(r["unparsed"] for r in res["by_language"].values())
    assert unparsed == sum(p["pred"] is None for p in res["predictions"])
    # the trained model continues each prompt with its right option text, which extraction finds
    assert res["overall"]["acc"] >= 0.5


def test_bad_items_are_counted_and_listed(tmp_path):
    path = tmp_path / "bad.jsonl"
    rows = [
        {"question": "ok?", "options": {"A": "x", "B": "y"}, "answer_idx": "B", "language": "en"},
        {"question": "no options?", "options": {}, "answer_idx": "A", "language": "en"},
        {"question": "out of range?", "options": {"A": "x", "B": "y"}, "answer_idx": "E", "language": "en"},
        {"question": "which language?", "options": {"A": "x", "B": "y"}, "answer_idx": "A", "language": "xx"},
        {"options": {"A": "x", "B": "y"}, "answer_idx": "A"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n", encoding="utf-8")
    items, rejected = load_items(path)
    assert [it.question for it in items] == ["ok?"] and items[0].answers == {1}
    assert [(r.line, r.reason) for r in rejected] == [
        (2, "no_options"), (3, "answer_out_of_range"), (4, "unknown_language"), (5, "no_question"), (6, "bad_record")]
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        load_items(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="unknown field preset"):
        load_items(path, "nope")


def test_presets_and_formats(tmp_path):
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    mm = tmp_path / "medmcqa.jsonl"
    mm.write_text(json.dumps({"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 4}) + "\n")
    assert load_items(mm, "medmcqa", language="en")[0][0].answers == {3}
    hq = tmp_path / "headqa.json"
    hq.write_text(json.dumps({"data": [{"qtext": "q", "ra": 2, "answers": [{"aid": 1, "atext": "x"},
                                                                          {"aid": 2, "atext": "y"}]}]}))
    assert load_items(hq, "headqa", language="es")[0][0].answers == {1}
    fr = tmp_path / "french.csv"
    with open(fr, "w", newline="") as f:
        w = csv.DictWriter(f, ["question", "answer_a", "answer_b", "answer_c", "answer_d", "answer_e", "correct_answers"])
        w.writeheader()
        w.writerow({"question": "q", "answer_a": "1", "answer_b": "2", "answer_c": "3", "answer_d": "4",
                    "answer_e": "5", "correct_answers": '["a", "c"]'})
    it = load_items(fr, "frenchmedmcqa", language="fr")[0][0]
    assert it.options == ["1", "2", "3", "4", "5"] and it.answers == {0, 2}
    assert load_items(fr, FieldMap(**{**PRESETS["frenchmedmcqa"].__dict__, "answer": "nope"}),
                      language="fr")[1][0].reason == "answer_out_of_range"
    ig = tmp_path / "igakuqa.parquet"
    pq.write_table(pa.table({"problem_text": ["問"], "choices": [["a", "b", "c"]], "answer": [["b"]]}), ig)
    assert load_items(ig, "igakuqa", language="ja")[0][0].answers == {1}
    ru = tmp_path / "rumeddanet.jsonl"
    ru.write_text(json.dumps({"context": "к", "question": "в?", "answer": "нет"}, ensure_ascii=False) + "\n")
    it = load_items(ru, "rumeddanet", language="ru")[0][0]
    assert it.options == ["да", "нет"] and it.answers == {1} and it.context == "к"
    # MMedBench names the language in the file name
    en = tmp_path / "English.jsonl"
    en.write_text(json.dumps({"question": "q", "options": {"A": "x", "B": "y"}, "answer_idx": "A"}) + "\n")
    assert load_items(en)[0][0].language == "en"


@pytest.mark.parametrize("text,expected", [
    ("The answer is B because bile is made in the liver", 1),
    ("答案是C", 2), ("正解は A です。", 0), ("Ответ: C", 2), ("La respuesta es (B)", 1),
    ("La réponse est A.", 0), ("C. vitamin C", 2), ("I think glucagon", 1), ("no idea", None),
])
def test_answer_extraction_in_six_languages(text, expected):
    item = MCQItem("x", "q", ["insulin", "glucagon", "cortisol"], frozenset({0}), "en")
    assert extract_answer(text, item) == expected


def test_unknown_tokens_are_measured():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "the": 1, "liver": 2}
    t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=t, unk_token="[UNK]")
    assert unknown_token_share(tok, ["the liver"]) == 0.0
    assert unknown_token_share(tok, ["печень вырабатывает желчь"]) == 1.0


def test_cli_on_a_trainer_output(tmp_path, qfile, tok, trained, capsys):
    run = tmp_path / "run"
    trained.save_pretrained(run / "final")
    tok.save_pretrained(run / "final")
    out = tmp_path / "results.json"
    assert main(["--model", str(run), "--data", str(qfile), "--output", str(out), "--device", "cpu"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["model"] == str(run / "final")
    assert len(report["files"][0]["sha256"]) == 64
    assert report["overall"]["n"] == len(ITEMS) and report["rejected"]["count"] == 0
    assert "| en | 3 |" in capsys.readouterr().out
    assert math.isclose(report["overall"]["acc"],
                        sum(p["correct"] for p in report["predictions"]) / len(ITEMS))
    assert "acc_norm" in format_table(report)
    with pytest.raises(FileNotFoundError, match="no model here"):
        evaluate(tmp_path, qfile)


def test_lm_eval_task_renders_the_same_prompt(tmp_path, qfile, items):
    """The harness task's templates give mmedc's prompt, choices and target for every item."""
    import ast

    import jinja2
    import yaml

    from mmedc.eval.lm_eval import write_lm_eval_tasks

    paths = write_lm_eval_tasks({"en": [qfile], "zh": [qfile]}, tmp_path / "tasks")
    env = jinja2.Environment()
    for path in paths:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        lang = cfg["task"].rsplit("_", 1)[1]
        for record, item in zip(ITEMS, items):
            if item.language != lang:
                continue
            assert env.from_string(cfg["doc_to_text"]).render(**record) == build_prompt(item)
            choices = ast.literal_eval(env.from_string(cfg["doc_to_choice"]).render(**record))
            assert [cfg["target_delimiter"] + c for c in choices] == [continuation(item, j) for j in range(3)]
            assert int(env.from_string(cfg["doc_to_target"]).render(**record)) == item.answer


def test_few_shot_examples_are_the_first_of_their_language_never_the_item(items):
    from mmedc.eval.run import select_shots

    en = [it for it in items if it.language == "en"]
    assert select_shots(items, en[0], 2) == en[1:3]
    assert select_shots(items, en[1], 2) == [en[0], en[2]]
    assert select_shots(items, items[3], 2) == []  # the only zh item has no other zh item
