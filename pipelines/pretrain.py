"""Continue pretraining a causal LM on mmedc shards: ``python pipelines/pretrain.py --config configs/tiny-cpu.yaml``."""

from mmedc.cli import guarded
from mmedc.recipes.pretrain import main

if __name__ == "__main__":
    raise SystemExit(guarded(main, prog="pretrain.py"))  # one-line errors; --debug: traceback
