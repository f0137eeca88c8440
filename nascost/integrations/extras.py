"""Optional frameworks: import one on first use, or fail with the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

# framework module -> (nascost extra, pip package)
EXTRAS = {
    "optuna": ("optuna", "optuna"),
    "syne_tune": ("syne-tune", "syne-tune"),
    "nni": ("nni", "nni"),
}


def install_hint(module: str) -> str:
    extra, package = EXTRAS[module]
    return f"pip install 'nascost[{extra}]' (or pip install {package})"


def require(module: str, feature: str) -> ModuleType:
    """The framework's module, or an ImportError that says what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        raise ImportError(f"{feature} needs {EXTRAS[top][1]}: {install_hint(top)}. "
                          f"({e})") from None
