"""`jepa new-plugin`: scaffold, pip install, list, its own tests, build — for real."""

from __future__ import annotations

import os
import subprocess
import sys


def test_scaffolded_plugin_installs_lists_tests_and_builds(tmp_path) -> None:
    jepa = [sys.executable, "-m", "jepa"]
    created = subprocess.run(
        [*jepa, "new-plugin", "jepa-acme", "--directory", str(tmp_path / "acme")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote plugin distribution" in created.stdout
    root = tmp_path / "acme"
    # the hint installs the test extra, which brings the pytest it then runs
    assert created.stdout.strip().endswith(f'next: pip install -e "{root}[test]" && pytest {root}/tests')
    assert 'test = ["pytest>=8"]' in (root / "pyproject.toml").read_text()
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(tmp_path / "acme"),
        ],
        check=True,
    )
    assert (site / "jepa_acme" / "py.typed").is_file()  # typed, and the wheel carries the marker
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = subprocess.run([*jepa, "list", "encoder", "acme:*"], capture_output=True, text=True, env=env, check=True)
    assert listed.stdout.split()[:3] == ["encoder", "acme:acme_encoder", "jepa-acme"]
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "acme")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    built = subprocess.run(
        [sys.executable, "-c", "import jepa; print(jepa.build('acme_encoder', 'attention').spec.encoder.name)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert built.stdout.strip() == "acme:acme_encoder"
    # the example encoder remembers its arguments: a model built from it directly saves and loads
    direct = (
        "import jepa; from jepa_acme.plugin import ExampleEncoder as E; "
        "m = jepa.JEPA(E(input_dim=8, hidden_dim=32), jepa.MLPPredictor(hidden_dim=32)); "
        f"m.save_pretrained({str(tmp_path / 'saved')!r}); "
        f"print(jepa.load({str(tmp_path / 'saved')!r}).spec.encoder.params['input_dim'])"
    )
    saved = subprocess.run([sys.executable, "-c", direct], capture_output=True, text=True, env=env)
    assert saved.returncode == 0, saved.stderr[-2000:]
    assert saved.stdout.strip() == "8"
    version = subprocess.run(
        [
            sys.executable,
            "-c",
            "import jepa_acme, jepa_acme.plugin as p; print(jepa_acme.__version__, p.JEPA_PLUGIN_API)",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert version.stdout.split() == ["0.1.0", ">=1,<2"]
    refused = subprocess.run(
        [*jepa, "new-plugin", "jepa-acme", "--directory", str(tmp_path / "acme")], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "is not empty" in refused.stderr
