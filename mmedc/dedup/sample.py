"""Kept for compatibility: the dedupe sample lives in :mod:`mmedc.samples.dedup` (this name is that module)."""

import sys

from mmedc.samples import dedup as _module

sys.modules[__name__] = _module
