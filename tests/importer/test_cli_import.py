"""nascost import MODULE:CALLABLE --input C,H,W --out FILE, then nascost show FILE."""

from __future__ import annotations

import json
from pathlib import Path

from nascost.cli.main import main

HERE = Path(__file__).parent


def test_import_then_show_resnet18(tmp_path, capsys):
    out = tmp_path / "r18.json"
    assert main(["import", f"{HERE / 'resnet18_tv.py'}:resnet18", "--input", "3,224,224",
                 "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    # torchvision's published resnet18: 11,689,512 parameters, 1.814 G multiply-accumulates
    assert "params 11,689,512; MACs 1,814,073,344" in shown
    assert "layer1.0.conv1" in shown


def test_import_with_kwargs_and_genes(tmp_path, capsys):
    out = tmp_path / "g.json"
    genes = {"w": {"choices": [32, 64], "fields": ["layer1.*.conv1.out_channels"]},
             "d": {"choices": [1, 2], "blocks": ["layer3.*"]}}
    assert main(["import", f"{HERE / 'resnet18_tv.py'}:resnet18", "--input", "3,64,64",
                 "--kwargs", '{"num_classes": 10}', "--genes", json.dumps(genes),
                 "--name", "r18-family", "--out", str(out)]) == 0
    spec = json.loads(out.read_text())
    assert spec["name"] == "r18-family" and [g["name"] for g in spec["genes"]] == ["w", "d"]
    assert main(["show", str(out), "--genes", "0,0"]) == 0
    assert "genes: w=32, d=1" in capsys.readouterr().out


def test_import_errors(tmp_path, capsys):
    out = tmp_path / "x.json"
    out.write_text("{}")
    target = f"{HERE / 'resnet18_tv.py'}:resnet18"
    assert main(["import", target, "--input", "3,32,32", "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["import", target, "--input", "3,32", "--out", str(out), "--force"]) == 2
    assert "--input must be C,H,W" in capsys.readouterr().err
    assert main(["import", "resnet18", "--input", "3,32,32", "--out", str(out),
                 "--force"]) == 2
    assert "MODULE:CALLABLE" in capsys.readouterr().err
    models = f"{HERE / 'importer_models.py'}:WithCustom"
    assert main(["import", models, "--input", "3,8,8", "--out", str(out), "--force"]) == 2
    err = capsys.readouterr().err
    assert "module block.1" in err and "torch.rot90" in err
