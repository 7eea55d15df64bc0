"""Kept for compatibility: the web sample lives in :mod:`mmedc.samples.web` (this name is that module)."""

import sys

from mmedc.samples import web as _module

sys.modules[__name__] = _module
