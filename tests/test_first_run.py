"""A first run that just works: the default install has the runtimes the built-in models need,
`make test` fetches the built-in person model (so the tests run it), and the README says how to
call the installed command and what the API returns."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_default_install_runs_the_builtin_models() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = _names(project["dependencies"])
    assert {"onnxruntime", "ai-edge-litert"} <= core


def test_make_test_fetches_the_person_model_before_pytest() -> None:
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^test:(.*)\n((?:\t.*\n)+)", make, re.M)
    assert target is not None
    prerequisites = target.group(1).split()
    fetch = re.search(r"^(\S+):.*\n(?:\t.*\n)*?\t.*vidseg models fetch [^\n]*\bperson\b", make, re.M)
    assert fetch is not None and fetch.group(1) in prerequisites


def test_the_readme_says_how_to_call_the_command_and_what_the_api_needs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/vidseg" in readme and "source .venv/bin/activate" in readme
    assert "want_probability=True" in readme
    assert '".[models]"' not in readme  # no extra needed for `vidseg segment --model person`
