"""``python -m mmedc.eval``: the same as ``mmedc eval``."""

import sys

from mmedc.eval.run import main

sys.exit(main())
