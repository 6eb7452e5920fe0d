"""Saving over an existing model survives ``kill -9`` at any instant.

A real process saves two models in turn over one path while the test kills it with
SIGKILL after a random delay, dozens of times; after every kill ``jepa.load(path)``
must give one of the two models, whole. A second test kills a process at the one
instant the rename fallback (systems without an atomic exchange) is exposed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import jepa
import pytest
import torch

pytestmark = pytest.mark.skipif(os.name != "posix", reason="fork and SIGKILL")

# Builds models A (every weight 0.25) and B (0.75), saves A, then on each "go" forks a
# child that saves B, A, B, ... over the path until it is killed; "wait" reaps it.
SAVER = r"""
import os, sys
import torch, jepa

path = sys.argv[1]
models = []
for value in (0.25, 0.75):
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(value)
    models.append(model)
models[0].save_pretrained(path)
print("ready", flush=True)
child = None
for line in sys.stdin:
    if line.strip() == "go":
        child = os.fork()
        if child == 0:
            try:
                while True:
                    models[1].save_pretrained(path)
                    models[0].save_pretrained(path)
            finally:
                os._exit(1)
        print(child, flush=True)
    elif line.strip() == "wait":
        os.waitpid(child, 0)
        print("reaped", flush=True)
"""


def weight_values(path: Path) -> set[float]:
    model = jepa.load(path)
    return {round(float(value), 4) for parameter in model.parameters() for value in parameter.detach().flatten()}


def test_a_model_saved_over_survives_kill_9_at_any_instant(tmp_path) -> None:
    path = tmp_path / "model"
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    rng = random.Random(0)
    seen: list[float] = []
    interrupted_saves = 0
    try:
        assert saver.stdout.readline().strip() == "ready"
        for _ in range(40):
            saver.stdin.write("go\n")
            saver.stdin.flush()
            child = int(saver.stdout.readline())
            time.sleep(rng.uniform(0.0, 0.15))  # a save takes 10-40 ms: kills land all through several
            os.kill(child, signal.SIGKILL)
            saver.stdin.write("wait\n")
            saver.stdin.flush()
            assert saver.stdout.readline().strip() == "reaped"
            debris = [p.name for p in tmp_path.iterdir() if p.name != "model"]
            interrupted_saves += bool(debris)
            values = weight_values(path)  # loads (and tidies) after every kill
            assert values in ({0.25}, {0.75}), f"a mixture of models was loaded: {values}"
            seen.append(values.pop())
            assert sorted(p.name for p in tmp_path.iterdir()) == ["model"], "loading removed the debris"
    finally:
        saver.kill()
        saver.wait()
    assert interrupted_saves >= 5, f"only {interrupted_saves} of 40 kills landed inside a save"
    assert {0.25, 0.75} <= set(seen), "kills landed both before and after a swap"


# The rename fallback, killed between its two renames: the old model is only under
# its .old- name for that instant; a load puts it back.
FALLBACK_KILLED = r"""
import os, signal, sys
import torch, jepa
from jepa_core import persistence

path = sys.argv[1]
model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
with torch.no_grad():
    for parameter in model.parameters():
        parameter.fill_(0.25)
model.save_pretrained(path)
with torch.no_grad():
    for parameter in model.parameters():
        parameter.fill_(0.75)
persistence._exchange = lambda a, b: False  # as on a system without an atomic exchange
rename = os.rename

def rename_then_die(source, target):
    rename(source, target)
    if ".old-" in str(target):
        os.kill(os.getpid(), signal.SIGKILL)

os.rename = rename_then_die
model.save_pretrained(path)
"""


def test_the_rename_fallback_killed_between_renames_still_loads_the_old_model(tmp_path) -> None:
    path = tmp_path / "model"
    result = subprocess.run(
        [sys.executable, "-c", FALLBACK_KILLED, str(path)], env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120
    )
    assert result.returncode == -signal.SIGKILL
    assert not path.exists() and any(".old-" in p.name for p in tmp_path.iterdir()), "killed at the bad instant"
    assert weight_values(path) == {0.25}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    model = jepa.load(path)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(0.5)
    model.save_pretrained(path)
    assert weight_values(path) == {0.5}
