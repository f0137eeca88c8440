"""Adapters for the NAS frameworks people use: Optuna, Syne Tune and NNI.

Each adapter is its own module, imported only when used (``import nascost`` imports none of
them), and needs its framework as an optional extra::

    pip install 'nascost[optuna]'     # nascost.integrations.optuna
    pip install 'nascost[syne-tune]'  # nascost.integrations.syne_tune
    pip install 'nascost[nni]'        # nascost.integrations.nni

They share one convention: a framework names each decision by the gene's name and offers
the gene's choice values; a budget (``max_flops=...``) becomes constraint values c <= 0
(feasible), computed from the genes by the space's fast scorer (nascost.integrations.budget).
"""

from __future__ import annotations

__all__ = ["budget", "genes", "nni", "optuna", "syne_tune"]
