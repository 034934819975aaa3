"""Repository hygiene (fast: no simulation, no training).

1. No text file of the repository outside tests/ names a path outside the repository (another
   machine's home or scratch directories, a sibling `../shared` checkout), and none speaks of
   the project's working history ("stop 12", "this stop", "issue 13", borrowed machines): the
   files describe the software as it is, and history belongs in CHANGELOG.md without such
   references. The files are those git tracks plus the untracked ones it does not ignore, so a
   new file fails before it is committed. tests/ is exempt: tests legitimately build paths
   under temporary directories.
2. The README and CI cannot drift apart: the README shows the quickstart smoke command and the
   commands `.ci/run` runs, and every `python -m benchmark ...` line of its shell blocks parses
   with the CLI and names an existing suite and profile.
3. The README's headline table is exactly what `scripts/readme_table.py` writes from the
   committed reports' summaries, so it cannot disagree with them.
"""
from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI_SCRIPT = ROOT / ".ci" / "run"
SMOKE_COMMAND = "python -m benchmark run --suite smoke --profile smoke"

BINARY_SUFFIXES = {
    ".png", ".svg", ".jpg", ".jpeg", ".gif", ".pdf", ".ico", ".safetensors", ".parquet", ".pt", ".ckpt",
    ".npz", ".npy", ".h5", ".hdf5", ".pkl", ".xz", ".gz", ".zip", ".whl",
}

FORBIDDEN = {
    "a path outside the repository": re.compile(
        r"\.\./shared\b|(?<![\w./-])shared/reference/|/work/|/root/|/home/|/tmp/"),
    "working-history wording": re.compile(
        r"\bstops? \d+\b|\bthis stop\b|\bissues? #?\d+\b|\bborrowed (?:machine|gpu|h200)s?\b"
        r"|\blent (?:gpu|h200|machine)s?\b",
        re.IGNORECASE),
}

# (path, kind) -> why the hit is needed. Keep this empty unless a file truly must contain such
# text (e.g. quoting a third-party message verbatim); every entry says why.
ALLOWED: dict[tuple[str, str], str] = {}


def _repository_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return sorted({p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})


def _text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file (by suffix or a NUL byte)."""
    if path.suffix.lower() in BINARY_SUFFIXES:
        return None
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def test_no_outside_paths_or_history_wording():
    hits = []
    for rel in _repository_files():
        if rel.startswith("tests/"):
            continue
        path = ROOT / rel
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        text = _text_of(path)
        if text is None:
            continue
        for kind, pattern in FORBIDDEN.items():
            if (rel, kind) in ALLOWED:
                continue
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                hits.append(f"{rel}:{line}: {kind}: {match.group(0)!r}")
    assert not hits, "\n".join([f"{len(hits)} hit(s):", *hits])


def _shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"```(?:bash|sh|shell)\n(.*?)```", markdown, flags=re.DOTALL)


def _benchmark_commands(markdown: str) -> list[str]:
    commands = []
    for block in _shell_blocks(markdown):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("python -m benchmark"):
                commands.append(line)
    return commands


def test_readme_shows_the_quickstart_and_ci_commands():
    readme = README.read_text()
    assert SMOKE_COMMAND in _benchmark_commands(readme), f"the README's quickstart lacks `{SMOKE_COMMAND}`"
    assert ".ci/run" in readme, "the README does not name .ci/run"
    ci_lines = [line.strip() for line in CI_SCRIPT.read_text().splitlines()
                if "tox" in line and not line.strip().startswith("#")]
    assert ci_lines, ".ci/run runs no tox command"
    for line in ci_lines:
        for part in (p.strip() for p in line.split("&&")):
            shown = re.sub(r"^python3? -m ", "", part).replace(" -q", "")
            assert shown in readme, f".ci/run runs `{part}`, which the README does not show (as `{shown}`)"


def test_readme_benchmark_commands_parse():
    from benchmark.cli import build_parser
    from benchmark.config import profile_names
    from benchmark.suites import suite_names

    commands = _benchmark_commands(README.read_text())
    assert commands
    for command in commands:
        argv = shlex.split(command)[3:]
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"the README's `{command}` does not parse")
        if args.command == "run":
            assert args.suite in suite_names(), f"`{command}`: no suite {args.suite!r}"
        if hasattr(args, "profile"):
            assert args.profile in profile_names(), f"`{command}`: no profile {args.profile!r}"


def test_readme_headline_table_is_the_committed_reports():
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_table", ROOT / "scripts" / "readme_table.py")
    readme_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readme_table)
    readme = README.read_text()
    assert readme == readme_table.with_table(readme, readme_table.headline_markdown()), (
        "README.md's headline table differs from the committed reports: run `python scripts/readme_table.py --write`")


def test_cli_epilog_matches_the_readme():
    from benchmark.cli import EPILOG

    readme_commands = _benchmark_commands(README.read_text())
    for line in EPILOG.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith("python -m benchmark"):
            assert line in readme_commands, f"the CLI's workflow shows `{line}`, the README does not"


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _without_code(markdown: str) -> str:
    return re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)


def test_documentation_links_resolve():
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "THIRD_PARTY_NOTICES.md",
             ROOT / "reports" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in (p for p in pages if p.is_file()):
        for link in re.findall(r"\]\(([^)\s]+)\)", _without_code(page.read_text())):
            if re.match(r"[a-z]+:", link):
                continue
            target, _, anchor = link.partition("#")
            path = (page.parent / target) if target else page
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such file)")
            elif anchor and path.suffix == ".md":
                headings = re.findall(r"^#+ (.*)$", _without_code(path.read_text()), flags=re.MULTILINE)
                if anchor not in {_slug(h) for h in headings}:
                    broken.append(f"{page.relative_to(ROOT)}: {link} (no such heading)")
    assert not broken, "\n".join(broken)
