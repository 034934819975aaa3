"""`python -m benchmark {list,collect,train,run,report}`: the suite's command line.

Every user error (unknown name, damaged file, mismatched zoo) prints one line and exits 2.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from benchmark.errors import UserError

DEFAULT_RESULTS = Path(os.environ.get("B2P_RESULTS", "results"))


def _add_common(parser, profile_default="mini"):
    parser.add_argument("--profile", default=profile_default, help="smoke | mini | paper (default: %(default)s)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help="root of zoos, trained models and runs (default: %(default)s, env B2P_RESULTS)")
    parser.add_argument("--workers", type=int, default=2,
                        help="local Ray workers; 0 runs serially in this process (default: %(default)s)")
    parser.add_argument("--address", default=None, help="join an existing Ray cluster (or set RAY_ADDRESS)")


def cmd_list(args) -> int:
    from benchmark.config import load_profile, profile_names
    from benchmark.envs import SEEN_TASKS, UNSEEN_TASKS

    print("seen tasks:   " + ", ".join(SEEN_TASKS))
    print("unseen tasks: " + ", ".join(UNSEEN_TASKS))
    print("profiles:")
    for name in profile_names():
        print(f"  {name:8s} {load_profile(name).description}")
    try:
        from benchmark.suites import suite_names, load_suite
    except ImportError:
        return 0
    print("suites:")
    for name in suite_names():
        print(f"  {name:12s} {load_suite(name).description}")
    from benchmark.methods import METHODS

    print("methods:      " + ", ".join(METHODS.names()))
    return 0


def cmd_collect(args) -> int:
    from benchmark.config import load_profile
    from benchmark.zoo.collect import build_zoo

    profile = load_profile(args.profile)
    zoo = build_zoo(profile.name, profile.zoo, args.results, tasks=args.tasks,
                    workers=args.workers, address=args.address)
    counts = {t: int((zoo.checkpoints.tasks == t).sum()) for t in zoo.manifest["seen_tasks"]}
    print(f"zoo {zoo.root}: {len(zoo.checkpoints)} checkpoints ({min(counts.values())}-{max(counts.values())} per seen task), "
          f"{len(zoo.conditions)} condition trajectories over {len(zoo.tasks)} tasks")
    return 0


def cmd_check_zoo(args) -> int:
    from benchmark.zoo.format import load_zoo

    zoo = load_zoo(args.path)
    print(f"zoo {zoo.zoo_id}: valid; policy spec {zoo.spec}")
    for task in zoo.tasks:
        ckpts, conds = zoo.checkpoints.for_task(task), zoo.conditions.for_task(task)
        cond_success = conds.successes.any(axis=1).mean() if len(conds) else float("nan")
        print(f"  {task:18s} {len(ckpts):5d} checkpoints  {len(conds):4d} conditions "
              f"(succeeding: {cond_success:.0%})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="tasks, profiles, suites and methods").set_defaults(func=cmd_list)

    collect = sub.add_parser("collect", help="build (or find) the policy zoo of a profile")
    _add_common(collect)
    collect.add_argument("--tasks", nargs="+", default=None, help="restrict the zoo to these tasks")
    collect.set_defaults(func=cmd_collect)

    check = sub.add_parser("check-zoo", help="validate a zoo directory and summarise it")
    check.add_argument("path", type=Path)
    check.set_defaults(func=cmd_check_zoo)

    try:
        from benchmark import run as run_module
    except ImportError:
        return parser
    run_module.add_commands(sub, _add_common)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished work is kept; rerun the same command to resume", file=sys.stderr)
        return 130
