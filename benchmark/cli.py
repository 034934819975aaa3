"""`python -m benchmark {list,collect,check-zoo,train,run,report,import-authors,diagnose}`: the CLI.

Also installed as the `b2p-bench` console script. Every user error (unknown name, damaged file,
mismatched zoo, bad option) prints one line and exits 2; SIGTERM stops a command as Ctrl-C does
(exit 130, finished work kept). `--version` prints the package version and the code version.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from benchmark.errors import UserError

DEFAULT_RESULTS = Path(os.environ.get("B2P_RESULTS", "results"))


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (exit 2), like every other user error."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _add_common(parser, profile_default="standard"):
    from benchmark.config import profile_names

    parser.add_argument("--profile", default=profile_default,
                        help=f"budget profile: {' | '.join(profile_names())} (default: %(default)s; "
                             "the README's headline results use standard)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help="root of zoos, trained models and runs (default: %(default)s, env B2P_RESULTS)")
    parser.add_argument("--workers", type=_count(0), default=2,
                        help="local Ray workers; 0 runs serially in this process (default: %(default)s)")
    parser.add_argument("--address", default=None,
                        help="join an existing Ray cluster at this address instead of starting one (or set RAY_ADDRESS)")


def writable_results(results: Path) -> Path:
    """The results root, created if missing; UserError if it is a file or not writable."""
    results = Path(results)
    if results.exists() and not results.is_dir():
        raise UserError(f"--results {results} is a file, not a directory")
    try:
        results.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --results {results} ({exc.strerror})") from None
    if not os.access(results, os.W_OK | os.X_OK):
        raise UserError(f"--results {results} is not writable")
    return results


# ----------------------------------------------------------------------------- commands

def cmd_list(args) -> int:
    from benchmark.api import METHODS
    from benchmark.config import load_profile, profile_names
    from benchmark.envs import DOMAINS
    from benchmark.suites import load_suite, suite_names

    for domain in DOMAINS.values():
        print(f"domain {domain.name} (robots: {', '.join(domain.robots)}; default {domain.default_robot})")
        print("  seen tasks:   " + ", ".join(domain.seen_tasks))
        if domain.unseen_tasks:
            print("  unseen tasks: " + ", ".join(domain.unseen_tasks))
    print("profiles:")
    for name in profile_names():
        profile = load_profile(name)
        domains = ", ".join([profile.domain, *profile.domains])
        print(f"  {name:8s} [{domains}] {profile.description}")
    print("suites:")
    for name in suite_names():
        suite = load_suite(name)
        where = suite.domain.name + (f", {suite.robot}" if suite.robot else "")
        print(f"  {name:20s} [{where}] {suite.description}")
    print("methods:      " + ", ".join(METHODS.names()))
    return 0


def _check_address(args) -> None:
    """A dead --address (or RAY_ADDRESS) fails now, before any work, not in a hang later."""
    from benchmark.executor import check_address

    address = args.address or os.environ.get("RAY_ADDRESS")
    if address:
        check_address(address)


def cmd_collect(args) -> int:
    from benchmark.config import load_profile
    from benchmark.zoo.collect import build_zoo

    profile = load_profile(args.profile).for_domain(args.domain)
    _check_address(args)
    zoo = build_zoo(profile.zoo_profile, profile.zoo, writable_results(args.results), tasks=args.tasks,
                    workers=args.workers, address=args.address)
    counts = {t: int((zoo.checkpoints.tasks == t).sum()) for t in zoo.manifest["seen_tasks"]}
    print(f"zoo {zoo.root}: {len(zoo.checkpoints)} checkpoints ({min(counts.values())}-{max(counts.values())} per seen task), "
          f"{len(zoo.conditions)} condition trajectories over {len(zoo.tasks)} tasks")
    return 0


def cmd_check_zoo(args) -> int:
    from benchmark.zoo.format import condition_summary, load_zoo, update_range

    zoo = load_zoo(args.path)
    print(f"zoo {zoo.zoo_id}: valid; policy spec {zoo.spec}")
    print(f"  {'task':18s} {'checkpoints':>11s} {'at updates':>13s} {'conditions':>10s} {'succeeding':>10s} "
          f"{'at updates':>13s} {'shortest':>8s}")
    for task, conds in condition_summary(zoo).items():
        ckpts = zoo.checkpoints.for_task(task)
        shortest = min([int(x.lengths.min()) for x in (ckpts, zoo.conditions.for_task(task)) if len(x)], default=0)
        succeeding = "-" if conds["succeeding"] is None else f"{conds['succeeding']:.0%}"
        print(f"  {task:18s} {len(ckpts):11d} {_span(update_range(ckpts.records)):>13s} {conds['conditions']:10d} "
              f"{succeeding:>10s} {_span(conds['updates']):>13s} {shortest:8d}")
    return 0


def _span(updates: list[int] | None) -> str:
    return f"{updates[0]}-{updates[1]}" if updates else "-"


def cmd_run(args) -> int:
    from benchmark import run as driver

    if args.dry_run:  # writes nothing, so the results root is only checked, not created
        if args.results.exists() and not args.results.is_dir():
            raise UserError(f"--results {args.results} is a file, not a directory")
        return driver.dry_run(args.suite, args.profile, args.results, args.methods, args.seeds, args.tag,
                              args.settings, args.n_traj)
    _check_address(args)
    return driver.run_suite(args.suite, args.profile, writable_results(args.results), methods=args.methods,
                            seeds=args.seeds, workers=args.workers, address=args.address, tag=args.tag,
                            settings=args.settings, n_traj=args.n_traj)


def cmd_train(args) -> int:
    from benchmark import run as driver

    _check_address(args)
    return driver.train_one(args.method, args.profile, writable_results(args.results), args.seed,
                            workers=args.workers, address=args.address, domain=args.domain)


def cmd_report(args) -> int:
    from benchmark.report import build_report

    for run_dir in args.results:
        if not (run_dir / "run.json").is_file():
            raise UserError(f"{run_dir} is not a run directory (no run.json); pass results/runs/<suite>-<profile>")
    from benchmark.report.diagnosis import build_diagnosis_report, is_diagnosis

    if any(is_diagnosis(run_dir) for run_dir in args.results):
        if len(args.results) > 1:
            raise UserError("a diagnosis run is reported on its own (pass one --results directory)")
        written = build_diagnosis_report(args.results[0], args.out)
    else:
        written = build_report(args.results, args.out, reps=args.reps)
    print(f"report: {written[0]}")
    return 0


def cmd_import_authors(args) -> int:
    from benchmark.zoo.authors import write_imported

    path = write_imported(args.file, args.task, args.out)
    print(f"imported {args.file} ({args.task}): {path}")
    return 0


# ----------------------------------------------------------------------------- wiring

DESCRIPTION = """\
b2p-bench evaluates behaviour-to-policy methods: each reads a few trajectories of an agent and
outputs the weights of a policy network. A run builds (or finds) the policy zoo, trains every
method of a suite, evaluates their proposed policies on held-out configurations cell by cell and
writes the paper's tables and figures; everything is cached and a killed run resumes."""

EPILOG = """\
usual workflow:
  python -m benchmark run --suite smoke --profile smoke                 # the whole pipeline in minutes
  python -m benchmark run --suite unseen --profile standard --dry-run   # the plan and its cost
  python -m benchmark run --suite unseen --profile standard             # the main job
  python -m benchmark report --results results/runs/unseen-standard     # Markdown + HTML report

`python -m benchmark list` names the suites, profiles and methods; `COMMAND --help` lists a
command's options. Also installed as `b2p-bench`."""


def version_string() -> str:
    """'b2p-bench <package version> (code <git short hash or 'unknown'>)'."""
    from importlib import metadata

    from benchmark.provenance import code_version

    try:
        package = metadata.version("b2p-bench")
    except metadata.PackageNotFoundError:
        package = "unknown"
    code = code_version()
    commit, plus, suffix = code.partition("+")
    if len(commit) == 40 and all(c in "0123456789abcdef" for c in commit):
        code = commit[:7] + plus + suffix
    return f"b2p-bench {package} (code {code})"


class _Version(argparse.Action):
    """`--version`, computed only when asked (the code version runs git)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_string())
        parser.exit(0)


def _command(sub, name: str, help: str, **kwargs):
    """A subcommand whose --help opens with its one-line help."""
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".", **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m benchmark", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version, help="print the package and code version, and exit")
    parser.add_argument("--verbose", action="store_true",
                        help="show Ray's own log lines and the tracebacks of failed cells and trainings")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _command(sub, "list", "tasks, profiles, suites and methods").set_defaults(func=cmd_list)

    collect = _command(sub, "collect", "build (or find) the policy zoo of a profile")
    _add_common(collect)
    collect.add_argument("--tasks", nargs="+", default=None, help="restrict the zoo to these tasks")
    collect.add_argument("--domain", default="metaworld",
                         help="whose zoo: the profile's section of this domain (default: %(default)s)")
    collect.set_defaults(func=cmd_collect)

    check = _command(sub, "check-zoo", "validate a zoo directory and summarise it")
    check.add_argument("path", type=Path, help="a zoo directory, results/zoo/<zoo id>")
    check.set_defaults(func=cmd_check_zoo)

    run = _command(sub, "run", "evaluate a suite: zoo -> training -> cells -> tables")
    _add_common(run)
    run.add_argument("--suite", required=True, help="suite name (see `list`) or path to a suite YAML file")
    run.add_argument("--methods", nargs="+", default=None, help="override the suite's methods (NAME or NAME[key=value])")
    run.add_argument("--seeds", type=_count(1), default=None, help="training seeds per method (default: the suite's)")
    run.add_argument("--settings", nargs="+", default=None,
                     help="override the suite's settings (clean, noisy, successful); a clean and a noisy cell "
                          "of one method, task and seed share their proposals in any suite")
    run.add_argument("--n-traj", type=int, nargs="+", default=None,
                     help="override the suite's condition-trajectory counts (e.g. 100: the cells of the full grid "
                          "at that count, to run first where the grid does not fit)")
    run.add_argument("--tag", default=None, help="suffix of the run directory name (<suite>-<profile>-<tag>)")
    run.add_argument("--dry-run", action="store_true", help="print the plan and its cost, run nothing")
    run.set_defaults(func=cmd_run)

    train = _command(sub, "train", "train (or find) one method on the profile's zoo")
    _add_common(train)
    train.add_argument("--method", required=True, help="method name, NAME or NAME[key=value] (see `list`)")
    train.add_argument("--seed", type=_count(0), default=0, help="training seed (default: %(default)s)")
    train.add_argument("--domain", default="metaworld",
                       help="train on the profile's zoo of this domain (default: %(default)s)")
    train.set_defaults(func=cmd_train)

    report = _command(sub, "report", "tables and figures from a stored run (no rerun)")
    report.add_argument("--results", required=True, type=Path, nargs="+",
                        help="a run directory, results/runs/<suite>-<profile>; several make one report "
                             "(e.g. the four Figure-12 ablation runs)")
    report.add_argument("--out", type=Path, default=None,
                        help="output directory (default: <run>/report; required with several runs)")
    report.add_argument("--reps", type=_count(1), default=2000, help="bootstrap repetitions (default: %(default)s)")
    report.set_defaults(func=cmd_report)

    authors = _command(sub, "import-authors", "import one of the Make-An-Agent authors' released dataset files")
    authors.add_argument("file", type=Path, help="a raw release file (.pt dict of param, traj, task)")
    authors.add_argument("--task", required=True, help="the task of its rows (the file carries no label)")
    authors.add_argument("--out", type=Path, required=True, help="directory to write <task>.safetensors and .json into")
    authors.set_defaults(func=cmd_import_authors)

    try:
        from benchmark import diagnose
    except ImportError:
        diagnose = None
    if diagnose is not None:
        diagnose.add_command(sub, _add_common)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    from benchmark import executor

    args = build_parser().parse_args(argv)
    executor.VERBOSE = args.verbose
    signal.signal(signal.SIGTERM, _terminate)
    started = time.time()
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted after {time.time() - started:.0f} s: finished work is kept; "
              "rerun the same command to resume", file=sys.stderr)
        return 130
    finally:
        executor.shutdown()
