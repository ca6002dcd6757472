"""The README's test command is the one CI runs, and every benchmark's table has its block in
docs/performance.md, where `--write-docs` puts it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ci_test_command() -> str:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    marker = script.index("# The README's test command, exactly:")
    return script[marker + 1].strip()


def test_the_readme_shows_exactly_the_command_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, re.S)
    assert _ci_test_command() in [line.strip() for b in blocks for line in b.splitlines()]


def test_every_benchmark_has_its_block_on_the_performance_page() -> None:
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    written = set()
    for script in (ROOT / "bench").glob("*.py"):
        written |= set(re.findall(r'(?:publish|write_section)\(\s*"(\w+)"', script.read_text()))
    assert written, "no benchmark publishes a table"
    for name in written:
        assert f"<!-- bench:{name} -->" in page and f"<!-- /bench:{name} -->" in page, name
        assert f"bench/{name}.py" in readme, f"the README has no line for bench/{name}.py"
    assert "<!-- bench:" not in readme
