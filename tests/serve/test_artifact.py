"""The model is verified against the manifest before it is unpickled; tampering is refused."""

from __future__ import annotations

import json
import shutil

import pytest

from mlresearcher.store.integrity import ArtifactError, load_verified

from .conftest import cli, run_cli


@pytest.fixture
def run_copy(credit_run, tmp_path):
    d = tmp_path / credit_run.name
    shutil.copytree(credit_run, d)
    return d


def test_an_intact_run_loads(credit_run):
    predictor, manifest = load_verified(credit_run)
    assert manifest["files"]["model.joblib"] and predictor.task == "binary"
    assert "reference.parquet" in manifest["files"]


def test_a_tampered_model_is_refused_before_loading(run_copy):
    f = run_copy / "model.joblib"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match the SHA-256"):
        load_verified(run_copy)
    r = cli("serve", run_copy, "--port", "0", timeout=60)
    assert r.returncode == 2
    assert "does not match the SHA-256" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_swapped_model_is_refused(run_copy, tmp_path):
    # a pickle that would run code on load never gets loaded: its hash is wrong
    import pickle

    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    (run_copy / "model.joblib").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ArtifactError):
        load_verified(run_copy)
    assert not (tmp_path / "pwned").exists()


def test_an_unrecorded_model_is_refused(run_copy, capsys):
    m = json.loads((run_copy / "manifest.json").read_text())
    del m["files"]["model.joblib"]
    (run_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="no checksum"):
        load_verified(run_copy)
    (run_copy / "manifest.json").unlink()
    code, _, err = run_cli(capsys, "monitor", run_copy, "x.csv")
    assert code == 2 and "no manifest.json" in err


def test_an_open_server_on_a_public_address_needs_explicit_consent(credit_run, capsys):
    from mlresearcher.commands.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    code, _, err = run_cli(capsys, "serve", credit_run, "--host", "0.0.0.0", "--port", "0")
    assert code == 2 and "--allow-unauthenticated" in err and "--api-key-env" in err
    assert len(err.strip().splitlines()) == 1
