"""Issue 14: a result dataset checked against its manifest. --resume verifies the parts it
recorded (size, checksum) and rescans the ranges of missing or damaged ones, naming them;
summary, query, pareto and plot refuse an inconsistent dataset (or warn with force);
`nascost verify DIR`; a damaged manifest is one line naming it (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nascost
from nascost.cli.main import main
from nascost.io import manifest as M
from nascost.io.verify import DatasetError, DatasetWarning, verify

SPACE = "mbv2-style"
KW = {"sample": 20_000, "seed": 3, "chunk_size": 4000}


def _run(d: Path, **extra):
    return nascost.write_dataset(SPACE, d, **KW, **extra)


@pytest.fixture
def fresh(tmp_path):
    """A complete dataset and, for comparison, the table of an identical one."""
    d = tmp_path / "d"
    _run(d)
    full = _run(tmp_path / "full")
    table = nascost.open_results(tmp_path / "full").to_table().sort_by("sample_index")
    return d, table, full


def _table(d):
    return nascost.open_results(d).to_table().sort_by("sample_index")


def _parts(d):
    return [e for e in M.Manifest.load(d).entries if e["file"]]


def test_manifest_records_size_and_checksum(fresh):
    d, _, _ = fresh
    parts = _parts(d)
    assert len(parts) == 5
    for e in parts:
        assert e["size"] == (d / e["file"]).stat().st_size
        assert len(e["sha256"]) == 64
    r = verify(d)
    assert r.ok and r.checksums and r.parts == 5


@pytest.mark.parametrize("damage", ["truncate", "corrupt", "delete"])
def test_resume_rescans_a_damaged_or_missing_part_and_names_it(fresh, damage):
    d, table, full = fresh
    victim = d / _parts(d)[2]["file"]
    data = victim.read_bytes()
    if damage == "truncate":  # every later resume failed: "Parquet magic bytes not found"
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "corrupt":  # was kept: resume exited 0 ("scanned 0"), query then failed
        mid = len(data) // 2
        victim.write_bytes(data[:mid] + bytes(64) + data[mid + 64:])
    else:
        victim.unlink()
    assert not verify(d).ok
    res = _run(d, resume=True)
    assert res.complete and res.scanned_now == 4000  # exactly the damaged part's range
    assert len(res.repaired) == 1 and victim.name in res.repaired[0]
    assert _table(d).equals(table) and res.rows == full.rows
    assert verify(d).ok


def test_resume_on_the_cli_names_the_damaged_file(fresh, capsys):
    d, _, _ = fresh
    victim = d / _parts(d)[0]["file"]
    victim.write_bytes(victim.read_bytes()[:100])
    code = main(["score", SPACE, "--sample", "20000", "--seed", "3", "--chunk-size", "4000",
                 "--out", str(d), "--resume"])
    err = capsys.readouterr().err
    assert code == 0
    assert f"warning: {victim.name}: 100 bytes, the manifest records" in err
    assert "scanned again" in err


@pytest.mark.parametrize("damage", ["delete_part", "delete_manifest", "wrong_rows",
                                    "extra_part"])
def test_analytics_refuse_an_inconsistent_dataset(fresh, damage):
    d, _, full = fresh
    parts = _parts(d)
    if damage == "delete_part":  # summary reported fewer rows and exited 0
        (d / parts[1]["file"]).unlink()
        words = f"{parts[1]['file']}: missing"
    elif damage == "delete_manifest":  # summary reported more rows than scanned
        (d / M.MANIFEST).unlink()
        words = "_manifest.json is missing"
    elif damage == "wrong_rows":
        man = M.Manifest.load(d)
        e = next(e for e in man.entries if e["file"])
        e["rows"] += 1
        man.save()
        words = f"{e['file']}: {e['rows'] - 1:,} rows, the manifest records {e['rows']:,}"
    else:
        extra = d / M.part_name(10**9, 10**9 + 5)
        extra.write_bytes((d / parts[0]["file"]).read_bytes())
        words = "a part file the manifest does not record"
    calls = [lambda **k: nascost.summary(d, **k), lambda **k: nascost.query(d, **k),
             lambda **k: nascost.pareto(d, **k),
             lambda **k: nascost.plot(d, d.parent / "p.png", **k)]
    for call in calls:
        with pytest.raises(DatasetError, match=words):
            call()
        with pytest.warns(DatasetWarning, match=words):
            call(force=True)
    assert not verify(d).ok


def test_cli_refuses_warns_with_force_and_verify(fresh, capsys):
    d, _, _ = fresh
    assert main(["verify", str(d)]) == 0
    assert "ok: 5 part files" in capsys.readouterr().out
    victim = _parts(d)[1]["file"]
    (d / victim).unlink()
    assert main(["summary", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{victim}: missing" in err and "--force" in err
    assert main(["summary", str(d), "--force"]) == 0
    captured = capsys.readouterr()
    assert "WARNING" in captured.err and victim in captured.err
    for cmd in (["query", str(d), "--top", "3"], ["pareto", str(d)]):
        assert main(cmd) == 2
        assert victim in capsys.readouterr().err
        assert main([*cmd, "--force"]) == 0
        assert "WARNING" in capsys.readouterr().err
    assert main(["verify", str(d)]) == 1
    assert f"damaged: {victim}: missing" in capsys.readouterr().out


@pytest.mark.parametrize("text, words", [
    ("[]", "damaged manifest: expected a JSON object, found list"),
    ('{"format": "nascost-manifest", "version": 1}', "damaged manifest: no 'info'"),
    (None, "cannot read the manifest"),
    ('{"format": "nascost-manifest", "version": 1, "info": {}, "space": "", "done": []}',
     "damaged manifest: 'info' has no 'space'"),
])
def test_a_damaged_manifest_is_one_line_naming_it(fresh, text, words):
    d, _, _ = fresh
    path = d / M.MANIFEST
    if text is None:
        path.write_bytes(b"\xff\xfe\x00garbage\x9c")
    else:
        path.write_text(text)
    for argv in (["summary", str(d)], ["query", str(d)], ["verify", str(d)],
                 ["score", SPACE, "--sample", "20000", "--seed", "3", "--out", str(d),
                  "--resume"]):
        env = {**os.environ, "PYTHONPATH": str(Path(nascost.__file__).parents[1])}
        proc = subprocess.run([sys.executable, "-m", "nascost", *argv], capture_output=True,
                              text=True, env=env)
        assert proc.returncode == 2, (argv, proc.stderr)
        lines = [x for x in proc.stderr.strip().splitlines() if "compiled the kernels" not in x]
        assert len(lines) == 1 and str(path) in lines[0] and words in lines[0], proc.stderr


def test_a_manifest_entry_with_a_bad_range_is_damaged(fresh):
    d, _, _ = fresh
    data = json.loads((d / M.MANIFEST).read_text())
    data["done"][0]["start"] = -5
    (d / M.MANIFEST).write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"damaged manifest: done\[0\]\.start"):
        nascost.summary(d)
