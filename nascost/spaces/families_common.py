"""Shared machinery of the model-family spaces (``families_*.py``).

A family space's genes are the knobs its authors published (width multiplier, resolution,
depth coefficient, block type, ...); every released model is a named candidate. The same
build function also makes the one-candidate space of a released model
(``nascost.spaces.torchvision_models``): given ``fixed`` values, each knob has a single
choice and is folded into literals, so the one-candidate space has no genes and cannot drift
from the family.

A :class:`Knob` is a gene when it has several choices and a constant when it has one. Field
values and conditions are computed per choice in Python (``Knob.field``, ``Knob.when``), so
structural rules such as torchvision's "residual when the stride is 1 and the channels
match" are decided exactly as torchvision decides them, for every choice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space

NUM_CLASSES = 1000


class Knob:
    """A published knob of a family: a gene with several choices, or a folded constant."""

    def __init__(self, b: SpaceBuilder, name: str, choices: Sequence, doc: str):
        self.name = name
        self.choices = tuple(choices)
        self.gene = b.gene(name, self.choices, doc=doc) if len(self.choices) > 1 else None

    @property
    def fixed(self) -> bool:
        return self.gene is None

    def field(self, fn: Callable[[Any], int] | None = None) -> Any:
        """A field value: ``fn(choice)`` for the chosen choice (the choice itself without fn).
        A literal when the knob is fixed or every choice gives the same value."""
        values = [int(c if fn is None else fn(c)) for c in self.choices]
        if len(set(values)) == 1:
            return values[0]
        if fn is None:
            return self.gene.to_spec()
        return self.gene.values(values)

    def when(self, pred: Callable[[Any], bool]) -> bool | dict:
        """True (for every choice), False (for none), or a condition on the gene listing the
        choices for which ``pred`` holds."""
        ok = [c for c in self.choices if pred(c)]
        if len(ok) == len(self.choices):
            return True
        if not ok:
            return False
        return self.gene.isin(ok)


def when_arg(cond: bool | dict) -> dict | None:
    """The ``when`` of a block for a condition from :meth:`Knob.when` that is not False."""
    if cond is False:
        raise ValueError("a block whose condition never holds is left out, not built")
    return None if cond is True else cond


class Family:
    """A SpaceBuilder plus the family's knobs; ``fixed`` folds knobs to one value each."""

    def __init__(self, name: str, description: str, fixed: Mapping[str, Any] | None = None):
        self.b = SpaceBuilder(name, description=description)
        self._fixed = dict(fixed or {})
        self.knobs: dict[str, Knob] = {}

    def knob(self, name: str, choices: Sequence, doc: str) -> Knob:
        choices = tuple(choices)
        if name in self._fixed:
            value = self._fixed.pop(name)
            if value not in choices:
                raise ValueError(f"knob {name!r}: {value!r} is not one of {list(choices)}")
            choices = (value,)
        k = Knob(self.b, name, choices, doc)
        self.knobs[name] = k
        return k

    def finish(self, named: Mapping[str, Mapping[str, Any]]) -> Space:
        """Record the named candidates (family spaces only) and build the space."""
        if self._fixed:
            raise ValueError(f"unknown knobs {sorted(self._fixed)}")
        genes = [k for k in self.knobs.values() if not k.fixed]
        if genes:
            for cand, values in named.items():
                missing = sorted(set(self.knobs) - set(values))
                if missing:
                    raise ValueError(f"named candidate {cand!r} does not set {missing}")
                self.b.name_candidate(cand, [k.choices.index(values[k.name]) for k in genes])
        return self.b.build()


def choose(b: SpaceBuilder, name: str, knob: Knob, option: Callable[[Any, str], None]) -> str:
    """One sub-path per choice of ``knob``: ``option(value, tag)`` adds the layers of a choice
    (``tag`` keeps layer names unique across options; it is "" for a fixed knob)."""
    if knob.fixed:
        option(knob.choices[0], "")
        return b.last
    with b.choice(name, knob.gene) as c:
        for v in knob.choices:
            with c.option():
                option(v, f"_{v}")
    return name


def residual_block(b: SpaceBuilder, p: str, knob: Knob, has_residual: Callable[[Any], bool],
                   body: Callable[[], str], when: bool | dict = True) -> None:
    """A block (run when ``when`` holds) whose residual add exists for the choices of ``knob``
    where ``has_residual`` holds: ``body()`` adds the layers and returns the value added to
    the block input."""
    cond = knob.when(has_residual)
    with b.block(p, when=when_arg(when)) as blk:
        out = body()
        if cond is True:
            b.op("add", f"{p}_add", input=[blk.input, out])
        elif cond is not False:
            with b.block(f"{p}_res", when=cond, input=out):
                b.op("add", f"{p}_add", input=[blk.input, out])


def conv_bn(b: SpaceBuilder, p: str, out: Any, kernel: int, stride: Any = 1, groups: Any = 1,
            act: str | None = None, input: str | None = None) -> str:
    """torchvision's Conv2dNormActivation: conv (padding (k - 1) // 2, no bias), BatchNorm2d,
    then the activation if any. Layers are named ``p_conv``, ``p_bn`` and ``p_<act>``."""
    b.conv2d(f"{p}_conv", out_channels=out, kernel=kernel, stride=stride,
             padding=(kernel - 1) // 2, groups=groups, bias=False, input=input)
    out_name = b.batchnorm2d(f"{p}_bn")
    if act is not None:
        out_name = b.op(act, f"{p}_{act}")
    return out_name


def squeeze_excite(b: SpaceBuilder, p: str, x: str, channels: Any, squeeze: Any, act: str,
                   gate: str) -> str:
    """torchvision.ops.SqueezeExcitation: global average pool, 1x1 conv (bias) to ``squeeze``,
    ``act``, 1x1 conv (bias) back to ``channels``, ``gate``, times the input (broadcast)."""
    b.op("global_avgpool", f"{p}_pool", input=x)
    b.conv2d(f"{p}_fc1", out_channels=squeeze, kernel=1)
    b.op(act, f"{p}_{act}")
    b.conv2d(f"{p}_fc2", out_channels=channels, kernel=1)
    scale = b.op(gate, f"{p}_{gate}")
    return b.op("mul", f"{p}_mul", input=[scale, x])


def classifier_head(b: SpaceBuilder) -> str:
    """Global average pooling, flatten and the 1000-class linear layer (with bias; a dropout
    before it costs nothing and is left out)."""
    b.op("global_avgpool", "avgpool")
    b.op("flatten", "flatten")
    return b.linear("fc", out_features=NUM_CLASSES)


def fmt(v: float) -> str:
    """A multiplier as it appears in released model names: 1.0, 0.75, 0.5, 1.4."""
    return repr(float(v))


def grid_names(prefix: str, widths: Iterable[float], resolutions: Iterable[int],
               wkey: str = "width") -> dict[str, dict[str, Any]]:
    """Named candidates ``<prefix>_<width>_<resolution>`` for a width x resolution grid."""
    return {f"{prefix}_{fmt(w)}_{r}": {wkey: w, "resolution": r}
            for w in widths for r in resolutions}
