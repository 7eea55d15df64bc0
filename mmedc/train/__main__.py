"""``python -m mmedc.train --config ...`` (what ``accelerate launch`` and ``torchrun -m`` run)."""

from mmedc.recipes.pretrain import main

if __name__ == "__main__":
    raise SystemExit(main())
