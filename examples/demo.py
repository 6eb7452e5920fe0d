"""The end-to-end demo behind `make demo`: build, train a few steps, save, load.

A masked JEPA on synthetic sequences (a sum of random sinusoids per channel):
the context encoder sees 25% of the time steps and the attention predictor
predicts the EMA target encoder's embeddings of the rest.
"""

from __future__ import annotations

import tempfile
import time

import jepa
import torch


def sinusoids(batch: int, steps: int, channels: int, generator: torch.Generator) -> torch.Tensor:
    t = torch.linspace(0, 1, steps)
    freq = torch.rand(batch, 1, channels, generator=generator) * 8 + 1
    phase = torch.rand(batch, 1, channels, generator=generator) * 6.28
    return torch.sin(6.28 * freq * t[None, :, None] + phase)


def main() -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = jepa.build(
        "transformer",
        "attention",
        masker={"name": "random", "params": {"target_ratio": 0.75, "num_targets": 2}},
        loss="smooth_l1",
        normalize_targets=True,
        encoder={"input_dim": 3, "hidden_dim": 64, "depth": 2, "pool": "none", "num_tokens": 32},
        predictor={"depth": 2},
    )
    print(f"built {model.num_parameters() / 1e3:.0f}k-parameter model:")
    print(f"  encoder {model.spec.encoder.name}, predictor {model.spec.predictor.name}, "
          f"loss {model.spec.loss.name}, masker {model.spec.masker.name}, target {model.spec.target.mode}")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    steps = 60
    start = time.perf_counter()
    for step in range(steps):
        out = model.step(sinusoids(64, 32, 3, generator))
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        model.update_target(progress=step / steps)
        if step % 20 == 0 or step == steps - 1:
            m = out.scalars()
            print(f"  step {step:3d}  loss {m['loss']:.4f}  context std {m['context_std']:.3f}  "
                  f"rankme {m['context_rankme']:.1f}")
    print(f"trained {steps} steps in {time.perf_counter() - start:.1f}s")

    probe = sinusoids(8, 32, 3, generator)
    with tempfile.TemporaryDirectory() as directory:
        path = model.save_pretrained(f"{directory}/demo-model")
        loaded = jepa.load(path)
        same = torch.equal(loaded.embed(probe), model.eval().embed(probe))
        print(f"saved to {path.name}/ ({', '.join(sorted(p.name for p in path.iterdir()))}); "
              f"reloaded embeddings identical: {same}")
    if not same:
        raise SystemExit("reloaded model differs from the saved one")


if __name__ == "__main__":
    main()
