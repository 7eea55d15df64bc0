"""Checkpoints that hold no pickle and say when they are complete.

A checkpoint ``<output_dir>/checkpoints/step-N/`` holds only safetensors and JSON:

- ``model.safetensors`` (one process or DDP: the full weights) or ``model-<rank>.safetensors`` (FSDP2:
  each process's shards), plus ``config.json`` of the model and the tokenizer files;
- ``optimizer[-<rank>].safetensors`` (AdamW's moment tensors) and ``optimizer[-<rank>].json`` (param
  groups and scalars); ``scheduler.json``; ``rng-<rank>.safetensors`` (torch CPU and CUDA generators);
- ``trainer_state.json``: step, tokens, each rank's data position, the run's identity and the log;
- ``COMPLETE.json``, written last: the size and SHA-256 of every file above.

A checkpoint without the marker, or whose files do not match it, is incomplete or damaged:
:func:`verify` raises :class:`CheckpointError` naming the checkpoint, the file and the reason, and
``resume: auto`` moves on to the previous one. Nothing is ever read with ``torch.load`` or ``pickle``
(a shared or downloaded run folder is untrusted input); a file the marker does not list is never read.
JSON files are bounded while read; safetensors bounds its own header.

Why not ``accelerate``'s ``save_state``: it stores the optimizer, scheduler and RNG states with
``torch.save`` and loads them with ``torch.load(weights_only=False)``, which runs code from the file;
and it marks nothing as complete. torch's distributed checkpoint format pickles its metadata too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

MARKER = "COMPLETE.json"
STATE = "trainer_state.json"
CHECKPOINT_DIR = "checkpoints"
FORMAT = 1
MAX_JSON_BYTES = 256 * 2**20


class CheckpointError(ValueError):
    """A checkpoint that is incomplete, damaged or not this run's (the message names file and reason)."""


# ----------------------------------------------------------------------------------------------------
# files and the marker


def sha256_file(path: str | os.PathLike, chunk: int = 8 * 2**20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def describe(folder: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of files in ``folder`` (what the marker records)."""
    return {n: {"bytes": (folder / n).stat().st_size, "sha256": sha256_file(folder / n)} for n in names}


def read_json(path: str | os.PathLike, limit: int = MAX_JSON_BYTES) -> Any:
    """A JSON file read with a size bound; errors name the file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from e
    if len(data) > limit:
        raise CheckpointError(f"{path}: larger than {limit:,} bytes")
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from e


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False), encoding="utf-8")


def write_marker(folder: Path, files: dict[str, dict[str, Any]], **extra: Any) -> None:
    """Write the marker last: the checkpoint is complete from this moment."""
    from mmedc.io.atomic import atomic_write_text

    atomic_write_text(folder / MARKER, json.dumps({"format": FORMAT, "files": files, **extra}, indent=1))


def verify(folder: str | os.PathLike, names: list[str] | None = None) -> dict[str, Any]:
    """Check a checkpoint against its marker (``names``: only these files; default all). Returns the
    marker; raises :class:`CheckpointError` naming the checkpoint and the file that is wrong."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint {folder}: not a folder")
    marker_path = folder / MARKER
    if not marker_path.exists():
        raise CheckpointError(f"checkpoint {folder}: incomplete (no {MARKER}; the save did not finish)")
    marker = read_json(marker_path, limit=16 * 2**20)
    files = marker.get("files") if isinstance(marker, dict) else None
    if not isinstance(files, dict) or marker.get("format") != FORMAT or STATE not in files:
        raise CheckpointError(f"checkpoint {folder}: {MARKER} is not a mmedc checkpoint marker (format {FORMAT})")
    for name in names if names is not None else sorted(files):
        info = files.get(name)
        if info is None:
            raise CheckpointError(f"checkpoint {folder}: {name} is not listed in {MARKER}")
        if os.path.isabs(name) or ".." in Path(name).parts:
            raise CheckpointError(f"checkpoint {folder}: {MARKER} names a file outside the checkpoint ({name})")
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"checkpoint {folder}: {name} is missing")
        size = path.stat().st_size
        if size != info.get("bytes"):
            raise CheckpointError(f"checkpoint {folder}: {name} has {size:,} bytes, {MARKER} says {info.get('bytes'):,} "
                                  "(truncated or rewritten)")
        if sha256_file(path) != info.get("sha256"):
            raise CheckpointError(f"checkpoint {folder}: {name} does not match its checksum (damaged)")
    return marker


def list_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Checkpoint folders with a marker (``checkpoints/step-N/COMPLETE.json``), oldest first; not yet verified."""
    root = Path(output_dir) / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    done = []
    for p in root.glob("step-*"):
        tail = p.name.split("-", 1)[1]
        if p.is_dir() and tail.isdigit() and (p / MARKER).exists():
            done.append(p)
    return sorted(done, key=lambda p: int(p.name.split("-")[1]))


def owned_files(marker: dict[str, Any], rank: int) -> list[str]:
    """The files one rank reads and verifies: its own (``-<rank>`` in the name) and, on rank 0, the shared ones."""
    tag = f"-{rank:05d}."
    own = []
    for name in marker["files"]:
        ranked = any(f"-{r:05d}." in name for r in range(marker.get("world_size", 1)))
        if tag in name or (rank == 0 and not ranked):
            own.append(name)
    return sorted(own)


# ----------------------------------------------------------------------------------------------------
# tensors in and out (plain tensors, or the local shards of FSDP2's DTensors)


def _local(t):
    return t.to_local() if hasattr(t, "to_local") else t


def model_tensors(model) -> dict[str, Any]:
    """The model's state as plain CPU tensors (each process's shards under FSDP2); tied weights once."""
    out, seen = {}, {}
    for k, v in model.state_dict().items():
        t = _local(v).detach()
        key = (t.data_ptr(), t.dtype, tuple(t.shape)) if t.numel() else None
        if key is not None and key in seen:
            continue  # a tied weight (e.g. lm_head = embed_tokens): stored once, tied again on load
        if key is not None:
            seen[key] = k
        out[k] = t.cpu().contiguous()
    return out


def load_model_tensors(model, tensors: dict[str, Any], source: str) -> None:
    """Copy saved tensors into the model in place; every weight must be covered (tied ones by their twin)."""
    import torch

    state = model.state_dict()
    unexpected = sorted(set(tensors) - set(state))
    if unexpected:
        raise CheckpointError(f"{source}: weights the model does not have: {unexpected[:5]}")
    by_storage: dict[tuple, list[str]] = {}
    for k, v in state.items():
        t = _local(v)
        by_storage.setdefault((t.data_ptr(), t.dtype, tuple(t.shape)), []).append(k)
    with torch.no_grad():
        for names in by_storage.values():
            have = [n for n in names if n in tensors]
            if not have:
                raise CheckpointError(f"{source}: no saved weights for {names[0]}")
            dst, src = _local(state[have[0]]), tensors[have[0]]
            if tuple(dst.shape) != tuple(src.shape):
                raise CheckpointError(f"{source}: {have[0]} has shape {tuple(src.shape)}, the model {tuple(dst.shape)}")
            dst.copy_(src.to(dst.dtype))


def optimizer_payload(optimizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """AdamW's state split into tensors (for safetensors) and the rest (JSON)."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, st in sd["state"].items():
        for name, v in st.items():
            if hasattr(v, "shape"):
                tensors[f"{idx}.{name}"] = _local(v).detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{name}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer(optimizer, tensors: dict[str, Any], meta: dict[str, Any], source: str) -> None:
    """Rebuild AdamW's state dict from the saved tensors and JSON; DTensor parameters get DTensor state."""
    params = [p for g in optimizer.param_groups for p in g["params"]]
    state: dict[int, dict[str, Any]] = {}
    for key, t in tensors.items():
        idx_s, _, name = key.partition(".")
        idx = int(idx_s)
        if idx >= len(params):
            raise CheckpointError(f"{source}: optimizer state for parameter {idx}, the model has {len(params)}")
        p = params[idx]
        if hasattr(p, "device_mesh") and tuple(t.shape) == tuple(_local(p).shape) and t.ndim > 0:
            from torch.distributed.tensor import DTensor

            t = DTensor.from_local(t.to(_local(p).device), p.device_mesh, p.placements, run_check=False,
                                   shape=p.shape, stride=p.stride())  # uneven shards: the global shape
        state.setdefault(idx, {})[name] = t
    for key, v in meta.get("scalars", {}).items():
        idx_s, _, name = key.partition(".")
        state.setdefault(int(idx_s), {})[name] = v
    groups = meta["param_groups"]
    if len(groups) != len(optimizer.param_groups):
        raise CheckpointError(f"{source}: {len(groups)} parameter groups saved, the optimizer has {len(optimizer.param_groups)}")
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def rng_tensors() -> dict[str, Any]:
    import torch

    out = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        out["torch_cuda"] = torch.cuda.get_rng_state()
    return out


def load_rng(tensors: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(tensors["torch_cpu"])
    if "torch_cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["torch_cuda"])


def save_tensors(path: Path, tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata={"format": "pt", **(metadata or {})})


def load_tensors(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types
        raise CheckpointError(f"{path}: not a readable safetensors file ({type(e).__name__}: {e})") from e


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------------------------------
# export to a from_pretrained folder


def export(checkpoint: str | os.PathLike, out: str | os.PathLike, dtype: str = "bfloat16") -> Path:
    """Write a checkpoint's model as a ``from_pretrained`` folder (safetensors, config, tokenizer).

    The checkpoint is verified first. FSDP2 shards (``model-<rank>.safetensors``) are joined along the
    first dimension, the way FSDP2 splits them. ``out`` appears when complete (written beside it, then
    renamed)."""
    import torch

    ckpt = Path(checkpoint)
    marker = verify(ckpt)
    files = marker["files"]
    if "config.json" not in files:
        raise CheckpointError(f"checkpoint {ckpt}: no config.json (written by an older mmedc?)")
    target = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}.get(dtype)
    if target is None:
        raise ValueError(f"export: dtype must be bfloat16, float16 or float32, got {dtype!r}")
    if "model.safetensors" in files:
        tensors = load_tensors(ckpt / "model.safetensors")
    else:
        world = int(marker.get("world_size", 1))
        parts = [load_tensors(ckpt / f"model-{r:05d}.safetensors") for r in range(world)]
        sharded = set(read_json(ckpt / "model_sharding.json").get("sharded", []))
        tensors = {k: (torch.cat([p[k] for p in parts], dim=0) if k in sharded else parts[0][k]) for k in parts[0]}
    tensors = {k: (v.to(target) if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    remove(tmp)
    tmp.mkdir(parents=True)
    save_tensors(tmp / "model.safetensors", tensors)
    config = read_json(ckpt / "config.json")
    config["dtype"] = dtype
    config.pop("torch_dtype", None)
    write_json(tmp / "config.json", config)
    for name in files:
        if name.startswith("tokenizer/") or name == "generation_config.json":
            dst = tmp / name.removeprefix("tokenizer/")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ckpt / name, dst)
    if out.exists():
        remove(out)
    os.replace(tmp, out)
    return out
