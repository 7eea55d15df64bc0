"""Memory of the loss: the model's own cross-entropy (full logits, upcast to fp32) against mmedc's
chunked cross-entropy (``loss_chunk_tokens``), on the CPU, in the same run.

For a Llama-3-sized vocabulary (128,256) the full fp32 logits of one 8,192-token row are 4.2 GB, and
the model's loss keeps them for backward. This measures, for ``--tokens`` tokens and hidden size
``--hidden``, each variant in its own process: the bytes autograd saves for backward (each storage once,
leaving out the inputs and the weight, which exist anyway), the process's peak resident memory above the inputs, and the time
of forward + backward. Baseline: transformers' ``ForCausalLMLoss`` on ``lm_head(hidden)``, what
``model(labels=...)`` computes. No data needed.

    python benchmarks/train_loss_memory.py --tokens 4096 --hidden 1024
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one(variant: str, tokens: int, hidden: int, vocab: int, chunk: int) -> dict:
    import torch
    from transformers.loss.loss_utils import ForCausalLMLoss

    sys.path.insert(0, ROOT)
    from mmedc.train.model import chunked_causal_lm_loss

    torch.manual_seed(0)
    h = torch.randn(1, tokens, hidden, requires_grad=True)
    w = (torch.randn(vocab, hidden) * 0.02).requires_grad_()
    y = torch.randint(0, vocab, (1, tokens))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    saved = [0]
    seen: set[int] = set()

    def pack(t):  # count each storage once (the weight is saved by every chunk, and is a parameter anyway)
        ptr = t.untyped_storage().data_ptr()
        if ptr not in seen and ptr not in (w.untyped_storage().data_ptr(), h.untyped_storage().data_ptr()):
            seen.add(ptr)
            saved[0] += t.untyped_storage().nbytes()
        return t

    t0 = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        if variant == "model_loss":
            loss = ForCausalLMLoss(torch.nn.functional.linear(h, w), y, vocab)
        else:
            loss = chunked_causal_lm_loss(h, w, y, None, chunk_tokens=chunk)
    loss.backward()
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"variant": variant, "loss": float(loss), "saved_for_backward_mib": saved[0] / 2**20,
            "peak_rss_above_inputs_mib": (peak - base_rss) / 1024, "seconds": dt,
            "grad_w_norm": float(w.grad.norm())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens", type=int, default=4096)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--vocab", type=int, default=128256)
    p.add_argument("--chunk", type=int, default=2048, help="loss_chunk_tokens")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one:
        print(json.dumps(one(a.one, a.tokens, a.hidden, a.vocab, a.chunk)))
        return 0
    rows = []
    for variant in ("model_loss", "chunked"):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", variant, "--tokens", str(a.tokens),
                              "--hidden", str(a.hidden), "--vocab", str(a.vocab), "--chunk", str(a.chunk)],
                             capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base, ch = rows
    print(f"{a.tokens:,} tokens, hidden {a.hidden}, vocabulary {a.vocab:,}, chunk {a.chunk:,} (CPU, one thread)")
    print(f"{'':<12}{'saved for backward':>20}{'peak RSS above inputs':>24}{'fwd+bwd s':>11}{'loss':>9}")
    for r in rows:
        print(f"{r['variant']:<12}{r['saved_for_backward_mib']:>16,.0f} MiB{r['peak_rss_above_inputs_mib']:>20,.0f} MiB"
              f"{r['seconds']:>11.2f}{r['loss']:>9.4f}")
    print(f"chunked / model loss: saved {ch['saved_for_backward_mib'] / base['saved_for_backward_mib']:.3f}, "
          f"peak RSS {ch['peak_rss_above_inputs_mib'] / base['peak_rss_above_inputs_mib']:.2f}, "
          f"time {ch['seconds'] / base['seconds']:.2f}; same loss: {abs(ch['loss'] - base['loss']) < 1e-4}, "
          f"same gradient norm: {abs(ch['grad_w_norm'] - base['grad_w_norm']) < 1e-3 * base['grad_w_norm']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
