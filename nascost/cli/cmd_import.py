"""nascost import: write the space JSON of a PyTorch model (``nascost.from_torch``)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("import", help="import a PyTorch model as a space JSON (from_torch)")
    p.add_argument("target", metavar="MODULE:CALLABLE",
                   help="a callable returning the nn.Module (or the class): "
                        "torchvision.models:resnet18, or path/to/file.py:Net")
    p.add_argument("--input", required=True, metavar="C,H,W",
                   help="the example input shape without the batch, e.g. 3,224,224")
    p.add_argument("--kwargs", default="{}", metavar="JSON",
                   help='keyword arguments for the callable, e.g. \'{"num_classes": 10}\'')
    p.add_argument("--genes", default=None, metavar="JSON",
                   help='genes on fields or blocks: \'{"w": {"choices": [32, 64], '
                        '"fields": ["layer1.0.conv1.out_channels"]}}\' (see docs/import.md)')
    p.add_argument("--name", default=None, help="the space's name (default: the class name)")
    p.add_argument("--out", required=True, metavar="FILE", help="the space JSON to write")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=run)


def _callable(target: str):
    from nascost.cli.main import UsageError

    mod_name, sep, attr = target.rpartition(":")
    if not sep or not mod_name or not attr:
        raise UsageError(f"expected MODULE:CALLABLE (e.g. torchvision.models:resnet18). "
                         f"Got {target!r}")
    if mod_name.endswith(".py"):
        path = Path(mod_name)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {mod_name}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, str(Path.cwd()))
        module = importlib.import_module(mod_name)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{mod_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"{target} is not callable")
    return obj


def _shape(text: str) -> tuple[int, int, int]:
    from nascost.cli.main import UsageError

    try:
        dims = tuple(int(x) for x in text.split(","))
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) < 1:
        raise UsageError(f"--input must be C,H,W (three positive integers). Got {text!r}")
    return dims


def _json(text: str, what: str) -> dict:
    from nascost.cli.main import UsageError

    try:
        v = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{what} is not valid JSON: {e}") from None
    if not isinstance(v, dict):
        raise UsageError(f"{what} must be a JSON object")
    return v


def run(args) -> int:
    import torch

    from nascost.importer import Gene, from_torch

    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists; pass --force to overwrite it")
    c, h, w = _shape(args.input)
    kwargs = _json(args.kwargs, "--kwargs")
    genes = None
    if args.genes:
        genes = {}
        for name, g in _json(args.genes, "--genes").items():
            if not isinstance(g, dict) or "choices" not in g:
                raise ValueError(f"--genes: gene {name!r} needs 'choices' and 'fields' or "
                                 "'blocks'")
            genes[name] = Gene(g["choices"], fields=g.get("fields", ()),
                               blocks=g.get("blocks", ()), each=bool(g.get("each", False)),
                               doc=g.get("doc"))
    model = _callable(args.target)(**kwargs)
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"{args.target} returned {type(model).__name__}, not a torch.nn.Module")
    space = from_torch(model, torch.zeros(1, c, h, w), genes=genes, name=args.name)
    out.write_text(space.to_json(indent=1) + "\n")
    print(f"wrote {out}: space {space.name!r} ({space.spec['description']}), {space.n_genes} genes "
          f"({space.size:,} gene arrays); try: nascost show {out}")
    return 0
