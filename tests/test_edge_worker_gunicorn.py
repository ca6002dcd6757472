"""`chatbot/web/edge_worker.py` copies gunicorn's `ThreadWorker.accept` and subclasses its
private `TConn`: on a gunicorn release it was not tested with, or whose copied code changed,
these tests fail and say what to do."""

from __future__ import annotations

import hashlib
import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from gunicorn.workers.gthread import TConn, ThreadWorker

from chatbot.web import edge_worker

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
UPSTREAM = {
    "ThreadWorker.accept": ThreadWorker.accept,
    "TConn": TConn,
    "ThreadWorker.handle": ThreadWorker.handle,
}


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_installed_gunicorn_is_one_the_edge_worker_was_tested_with() -> None:
    installed = version("gunicorn")
    assert installed in edge_worker.TESTED_GUNICORN, (
        f"gunicorn {installed} is installed but chatbot/web/edge_worker.py was tested only with "
        f"{', '.join(edge_worker.TESTED_GUNICORN)}: compare gunicorn's gthread.py with the copy, "
        "run the HTTP edge tests, then update TESTED_GUNICORN, the hashes and the pin in "
        "pyproject.toml"
    )


@pytest.mark.parametrize("name", sorted(UPSTREAM))
def test_the_upstream_code_the_edge_worker_copies_is_unchanged(name: str) -> None:
    source = inspect.getsource(UPSTREAM[name])
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert digest == edge_worker.UPSTREAM_SOURCE_SHA256[name], (
        f"gunicorn {version('gunicorn')} changed {name}, which chatbot/web/edge_worker.py copies "
        "or relies on: bring EdgeThreadWorker/_TimedConn in line with it, run the HTTP edge "
        "tests, then store the new hash"
    )


def test_the_pin_in_pyproject_covers_exactly_the_tested_releases() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    (pin,) = [d for d in dependencies if d.startswith("gunicorn")]
    bounds = dict(re.findall(r"(>=|<=)\s*([0-9.]+)", pin))
    tested = sorted(edge_worker.TESTED_GUNICORN, key=_release)
    assert set(re.findall(r"[<>=!~]+", pin)) == {">=", "<="}, f"pin both ends: {pin!r}"
    assert (bounds[">="], bounds["<="]) == (tested[0], tested[-1]), (
        f"pyproject.toml pins {pin!r} but edge_worker.py was tested with {', '.join(tested)}"
    )
