"""``mmedc train``: train (or resume) from a config file and options, and ``mmedc train export``.

    mmedc train --config configs/tiny-cpu.yaml --max-steps 100      # = python -m mmedc.train ...
    mmedc train export runs/tiny-cpu exported/                       # newest intact checkpoint -> from_pretrained folder
    mmedc train export runs/tiny-cpu/checkpoints/step-0000050 out/ --dtype float32

Library errors (a bad config, a damaged checkpoint named with ``--resume``, another run in the output
folder) print one line naming the file and the reason and exit 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mmedc.train.config import add_config_args, config_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmedc train",
        description="Continue pretraining a causal LM on mmedc shards (streaming, packed, resumable). "
                    "`mmedc train export --help`: a checkpoint as a from_pretrained folder.",
    )
    add_config_args(parser)
    parser.add_argument("--dry-run", action="store_true", help="print the merged config as JSON and exit")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return parser


def build_export_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mmedc train export",
                                description="Write a checkpoint's model as a from_pretrained folder (verified first).")
    p.add_argument("checkpoint", help="a checkpoint folder, or a run's output_dir (its newest intact checkpoint)")
    p.add_argument("out", help="the folder to write (model.safetensors, config.json, tokenizer)")
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"],
                   help="dtype of the exported weights (default: bfloat16)")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return p


def export_main(argv: list[str]) -> int:
    from mmedc.train import checkpoint as ck

    args = build_export_parser().parse_args(argv)
    try:
        src = Path(args.checkpoint)
        if not (src / ck.MARKER).exists() and (src / ck.CHECKPOINT_DIR).is_dir():
            src = _newest_intact(src)
        out = ck.export(src, args.out, dtype=args.dtype)
    except (ValueError, OSError, ImportError) as e:
        if args.debug:
            raise
        print(f"mmedc train export: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"checkpoint": str(src), "exported": str(out), "dtype": args.dtype}))
    return 0


def _newest_intact(output_dir: Path) -> Path:
    from datatrove.utils.logging import logger

    from mmedc.train import checkpoint as ck

    for path in reversed(ck.list_checkpoints(output_dir)):
        try:
            ck.verify(path)
            return path
        except ck.CheckpointError as e:
            logger.warning(f"export: skipping {e}")
    raise ck.CheckpointError(f"{output_dir}: no intact checkpoint in {output_dir / ck.CHECKPOINT_DIR}")


def _end_process_group() -> None:
    """Close the process group of a launched run before the process exits (its communication threads
    aborting at interpreter exit can kill a finished run with SIGABRT)."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    except Exception:  # noqa: BLE001 - best effort at exit
        pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export":
        return export_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValueError, TypeError) as e:
        parser.error(str(e))
    if args.dry_run:
        print(json.dumps(config.to_dict(), indent=1, ensure_ascii=False))
        return 0
    from mmedc.train.trainer import train

    try:
        result = train(config)
    except (ValueError, OSError, ImportError) as e:
        if args.debug:
            raise
        print(f"mmedc train: {e}", file=sys.stderr)
        return 1
    finally:
        _end_process_group()
    summary = {k: result[k] for k in ("output_dir", "steps", "tokens", "final_model", "checkpoint")}
    summary["data"] = result["data_stats"]  # documents, tokens, blocks, skipped (why), unreadable files
    summary["last_loss"] = result["losses"][-1] if result["losses"] else None
    summary["eval"] = result["eval"]
    if int(os.environ.get("RANK", "0")) == 0:  # one summary per launch, not one per process
        print(json.dumps(summary, indent=1))
    return 0
