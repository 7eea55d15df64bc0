"""Kept for compatibility: the sample textbooks lives in :mod:`mmedc.samples.textbooks` (this name is that module)."""

import sys

from mmedc.samples import textbooks as _module

sys.modules[__name__] = _module
