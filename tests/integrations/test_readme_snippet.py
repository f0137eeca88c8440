"""The README's "In a NAS loop" Optuna snippet runs as written (fewer trials) and is under
ten lines."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import optuna

README = Path(__file__).resolve().parents[2] / "README.md"


def test_nas_loop_snippet_runs():
    text = README.read_text()
    section = text.split("## In a NAS loop", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([ln for ln in code.splitlines() if ln.strip()]) < 10
    assert "n_trials=200" in code
    studies = []
    real_create = optuna.create_study

    def create_study(*args, **kwargs):
        studies.append(real_create(*args, **kwargs))
        return studies[-1]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study = create_study
    try:
        # my_score: a stand-in (not accuracy)
        env = {"my_score": lambda genes: float(np.asarray(genes, np.int64).sum())}
        exec(code.replace("n_trials=200", "n_trials=15"), env)
    finally:
        optuna.create_study = real_create
    (study,) = studies
    space = env["space"]
    assert len(study.trials) == 15
    flops = space.score(np.array([space.genes_from_values(t.params) for t in study.trials]))
    for t, f in zip(study.trials, flops.column("flops").to_numpy(), strict=True):
        assert t.constraints == {"flops <= 300M": float(f - 300_000_000), "valid": 0.0}
