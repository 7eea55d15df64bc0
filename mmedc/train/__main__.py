"""``python -m mmedc.train --config ...`` (what ``accelerate launch`` and ``torchrun -m`` run).

Under a launcher (``WORLD_SIZE`` > 1) the process ends with ``os._exit`` once the run is finished and
its output flushed: the gloo/NCCL communication threads of torch.distributed can abort a finished run
with SIGABRT ("terminate called without an active exception") during interpreter teardown, which the
launcher then reports as a failed rank.
"""

import os
import sys

from mmedc.train.cli import main

if __name__ == "__main__":
    code = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code or 0))
    raise SystemExit(code)
