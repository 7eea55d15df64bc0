"""What a run saves and resumes from: one run per output folder, checkpoints written and verified
across processes, the final model.

- ``<output_dir>/run.json`` records the run's identity (the options that define what it trains, the
  data fingerprint, the process count); a different request into the same folder is refused, naming
  the differences, unless ``overwrite`` (which removes the other run's checkpoints, log, tokenizer and
  final model); ``resume: auto`` resumes only a checkpoint of the same identity;
- checkpoints are :mod:`mmedc.train.checkpoint`'s (safetensors + JSON, marker written last): each
  process writes and verifies its own files, so a multi-GPU save or resume reads no file twice;
- ``resume: auto`` skips an incomplete or damaged checkpoint with a one-line warning and takes the
  previous one; a checkpoint given by path that is not intact is an error naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from datatrove.utils.logging import logger

from mmedc.train import checkpoint as ck
from mmedc.train.config import TrainConfig
from mmedc.train.data import DataState
from mmedc.train.model import sync_every_micro_batch

CHECKPOINT_DIR = ck.CHECKPOINT_DIR
RUN_FILE = "run.json"

def list_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Checkpoints with a completion marker, oldest first (see :mod:`mmedc.train.checkpoint`)."""
    return ck.list_checkpoints(output_dir)


def differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    keys = sorted(set(saved) | set(now))
    return [f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in keys if saved.get(k) != now.get(k)]


def _is_sharded(accelerator) -> bool:
    return sync_every_micro_batch(accelerator.distributed_type)


def save_checkpoint(accelerator, model, optimizer, scheduler, tokenizer, config: TrainConfig, step: int,
                    tokens: int, data_state: DataState, history: list[dict], identity: dict[str, Any]) -> Path:
    """Write ``checkpoints/step-N`` (safetensors + JSON, marker last; see :mod:`mmedc.train.checkpoint`)."""
    from accelerate.utils import gather_object

    root = Path(config.output_dir) / CHECKPOINT_DIR
    final = root / f"step-{step:07d}"
    tmp = root / f".step-{step:07d}.tmp"
    rank, world = accelerator.process_index, accelerator.num_processes
    sharded = _is_sharded(accelerator)
    if accelerator.is_main_process:
        ck.remove(tmp)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    mine: list[str] = []
    unwrapped = accelerator.unwrap_model(model)
    if sharded or accelerator.is_main_process:
        tag = f"-{rank:05d}" if sharded else ""
        tensors = ck.model_tensors(unwrapped)
        meta = {}
        ck.save_tensors(tmp / f"model{tag}.safetensors", tensors)
        mine.append(f"model{tag}.safetensors")
        opt_t, opt_meta = ck.optimizer_payload(optimizer)
        ck.save_tensors(tmp / f"optimizer{tag}.safetensors", opt_t)
        ck.write_json(tmp / f"optimizer{tag}.json", opt_meta)
        mine += [f"optimizer{tag}.safetensors", f"optimizer{tag}.json"]
        if sharded and rank == 0:
            full = unwrapped.state_dict()
            meta["sharded"] = sorted(k for k, v in full.items() if hasattr(v, "to_local")
                                     and tuple(v.to_local().shape) != tuple(v.shape))
            ck.write_json(tmp / "model_sharding.json", meta)
            mine.append("model_sharding.json")
    ck.save_tensors(tmp / f"rng-{rank:05d}.safetensors", ck.rng_tensors())
    mine.append(f"rng-{rank:05d}.safetensors")
    if accelerator.is_main_process:
        ck.write_json(tmp / "scheduler.json", scheduler.state_dict())
        mine.append("scheduler.json")
        unwrapped.config.save_pretrained(tmp)
        mine.append("config.json")
        if (tmp / "generation_config.json").exists():
            mine.append("generation_config.json")
        tokenizer.save_pretrained(tmp / "tokenizer")
        mine += [f"tokenizer/{p.name}" for p in sorted((tmp / "tokenizer").iterdir())]
    described = ck.describe(tmp, mine)
    states = gather_object([data_state.to_dict()])
    all_files = gather_object([described])
    if accelerator.is_main_process:
        state = {"step": step, "tokens": tokens, "data_states": states, "identity": identity,
                 "config": config.to_dict(), "history": history, "world_size": world}
        ck.write_json(tmp / ck.STATE, state)
        files = {k: v for part in all_files for k, v in part.items()}
        files.update(ck.describe(tmp, [ck.STATE]))
        ck.write_marker(tmp, files, world_size=world, sharded=sharded, step=step)
        ck.remove(final)
        os.replace(tmp, final)
        if config.save_total_limit > 0:
            for old in list_checkpoints(config.output_dir)[: -config.save_total_limit]:
                ck.remove(old)
        logger.info(f"saved checkpoint {final}")
    accelerator.wait_for_everyone()
    return final


def _verify_here(accelerator, path: Path) -> str | None:
    """Verify the files this rank will read; every rank learns whether any rank found a problem."""
    from accelerate.utils import gather_object

    try:
        marker = ck.verify(path, names=[])
        ck.verify(path, names=ck.owned_files(marker, accelerator.process_index))
        problem = None
    except ck.CheckpointError as e:
        problem = str(e)
    problems = [p for p in gather_object([problem]) if p] if accelerator.num_processes > 1 else [problem] if problem else []
    return problems[0] if problems else None


def select_checkpoint(accelerator, config: TrainConfig) -> Path | None:
    """The checkpoint to resume: ``resume: auto`` takes the newest intact one (skipping incomplete or
    damaged ones with a one-line warning each); a path must be intact (else :class:`CheckpointError`)."""
    if not config.resume:
        return None
    if config.resume != "auto":
        path = Path(config.resume)
        problem = _verify_here(accelerator, path)
        if problem:
            raise ck.CheckpointError(f"resume: {problem}")
        return path
    root = Path(config.output_dir) / CHECKPOINT_DIR
    unmarked = sorted(p.name for p in root.glob("step-*") if p.is_dir() and not (p / ck.MARKER).exists()) \
        if root.is_dir() else []
    if unmarked and accelerator.is_main_process:
        logger.warning(f"resume: ignoring {len(unmarked)} folder(s) in {root} without {ck.MARKER} "
                       f"(saves that did not finish, or an older checkpoint format): {', '.join(unmarked[:3])}")
    for path in reversed(list_checkpoints(config.output_dir)):
        problem = _verify_here(accelerator, path)
        if problem is None:
            return path
        if accelerator.is_main_process:
            logger.warning(f"resume: skipping {problem}; trying the previous checkpoint")
    return None


def load_checkpoint(accelerator, path: Path, model, optimizer, scheduler) -> dict[str, Any]:
    """Restore model, optimizer, scheduler and RNG from a verified checkpoint; return its trainer state."""
    rank = accelerator.process_index
    state = ck.read_json(path / ck.STATE)
    marker = ck.read_json(path / ck.MARKER)
    if int(marker.get("world_size", 1)) != accelerator.num_processes:
        raise ck.CheckpointError(f"checkpoint {path} was written by {marker.get('world_size')} processes, now "
                                 f"{accelerator.num_processes}: resume with the same number")
    tag = f"-{rank:05d}" if marker.get("sharded") else ""
    unwrapped = accelerator.unwrap_model(model)
    ck.load_model_tensors(unwrapped, ck.load_tensors(path / f"model{tag}.safetensors"), str(path / f"model{tag}.safetensors"))
    ck.load_optimizer(optimizer, ck.load_tensors(path / f"optimizer{tag}.safetensors"),
                      ck.read_json(path / f"optimizer{tag}.json"), str(path / f"optimizer{tag}.json"))
    scheduler.load_state_dict(ck.read_json(path / "scheduler.json"))
    ck.load_rng(ck.load_tensors(path / f"rng-{rank:05d}.safetensors"))
    return state


def check_run(config: TrainConfig, identity: dict[str, Any], is_main: bool) -> None:
    """An output folder holds one run: a different request into it is refused (naming the differences)
    unless ``overwrite``, which removes the other run's checkpoints, log, tokenizer and final model."""
    out = Path(config.output_dir)
    record = out / RUN_FILE
    if record.exists():
        saved = ck.read_json(record, limit=16 * 2**20)
        diff = differences(saved.get("identity", {}), identity)
        if diff and not config.overwrite:
            raise ValueError(f"{out} holds another run ({'; '.join(diff)}): give another output_dir, or "
                             "overwrite: true (--overwrite true) to start afresh")
        if diff and is_main:
            for name in (CHECKPOINT_DIR, "tokenizer", "final"):
                ck.remove(out / name)
            (out / "log.jsonl").unlink(missing_ok=True)
            logger.warning(f"overwrite: removed the previous run in {out} ({'; '.join(diff)})")
    elif config.overwrite and is_main:
        for name in (CHECKPOINT_DIR, "tokenizer", "final"):
            ck.remove(out / name)
        (out / "log.jsonl").unlink(missing_ok=True)
    if is_main:
        from mmedc.io.atomic import atomic_write_text

        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(record, json.dumps({"identity": identity}, indent=1))


def save_model(accelerator, model, tokenizer, path: str | os.PathLike, dtype: Any = None) -> None:
    """Save a ``from_pretrained``-loadable model (safetensors, in ``dtype``) and its tokenizer; gathers
    FSDP shards; written beside ``path`` and renamed when complete."""
    state_dict = accelerator.get_state_dict(model)
    unwrapped = accelerator.unwrap_model(model)
    if accelerator.is_main_process:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        ck.remove(tmp)
        if dtype is not None:
            state_dict = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state_dict.items()}
        unwrapped.save_pretrained(tmp, state_dict=state_dict, safe_serialization=True)
        if dtype is not None:  # the config says what the weights are
            cfg = json.loads((tmp / "config.json").read_text())
            cfg["dtype"] = str(dtype).removeprefix("torch.")
            (tmp / "config.json").write_text(json.dumps(cfg, indent=2))
        tokenizer.save_pretrained(tmp)
        ck.remove(path)
        os.replace(tmp, path)
    accelerator.wait_for_everyone()


