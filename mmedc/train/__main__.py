"""``python -m mmedc.train --config ...`` (what ``accelerate launch`` and ``torchrun -m`` run)."""

from mmedc.train.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
