"""scaleready benchmark: prints the figures the funder workflow's targets are judged by.

Run from the repository, in the project's virtualenv:

    .venv/bin/python benchmarks/bench.py            # the full run (about 6 minutes)
    .venv/bin/python benchmarks/bench.py --quick    # smaller counts, for a first look
    .venv/bin/python benchmarks/bench.py --dask-only --profiles 5000   # local pool vs Dask

Everything is measured in one run on this machine, so compare figures with each other (the
ratios), not with another day's run: the machines here are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import NamedTuple

from scaleready.assessment.build import create_engine
from scaleready.profile import profile_from_data
from scaleready.synthetic import synthetic_profiles

REPO = Path(__file__).resolve().parents[1]
SCALEREADY = Path(sys.executable).with_name("scaleready")
TARGETS = {
    "durable_per_core": 2000,  # profiles/s end to end on one core, durable_rules backend
    "python_per_core": 3000,  # profiles/s end to end on one core, python backend
    "batch_10k_seconds": 5.0,  # 10,000 profiles in a batch on 2 cores
    "cold_start_seconds": 0.2,  # a cold `scaleready assess` of one profile
    "memory_growth_mib": 40,  # peak memory growth from 300 to 3,000 (assess), 1k to 10k (batch)
}


def rss_mib() -> float:
    """Resident memory of this process now, in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>9,.0f} profiles/s"


def end_to_end(texts: list[str], backend: str) -> float:
    """Seconds to load (JSON text), validate and assess every profile, on one core."""
    engine, _ = create_engine(backend=backend)
    start = time.perf_counter()
    for text in texts:
        engine.assess(profile_from_data(json.loads(text)))
    return time.perf_counter() - start


def load_and_validate(texts: list[str]) -> float:
    """Seconds to load and validate alone: the floor no engine can beat."""
    start = time.perf_counter()
    for text in texts:
        profile_from_data(json.loads(text))
    return time.perf_counter() - start


def memory_over_time(texts: list[str], total: int) -> list[tuple[int, float]]:
    """RSS after 1,000 assessments and at checkpoints up to ``total``, in one process."""
    engine, _ = create_engine()
    profiles = [profile_from_data(json.loads(text)) for text in texts]
    checkpoints, readings = {1_000, total // 10, total // 2, total}, []
    for done in range(1, total + 1):
        engine.assess(profiles[done % len(profiles)])
        if done in checkpoints:
            readings.append((done, rss_mib()))
    return readings


def command_seconds(args: list[str], repeat: int = 7) -> float:
    """Median wall time of a command, each run a fresh process.

    Python's bytecode cache is allowed (as an installed package has it), even where the
    environment sets PYTHONDONTWRITEBYTECODE: a first run fills it and is not counted.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(args, check=True, capture_output=True, env=env)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batch_seconds(count: int, jobs: int) -> float:
    """Wall time of `scaleready batch` over a JSONL round of ``count`` profiles."""
    with tempfile.TemporaryDirectory() as folder:
        round_file = Path(folder) / "round.jsonl"
        lines = (json.dumps(profile) for profile in synthetic_profiles(count, seed=2027))
        round_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        args = [
            str(SCALEREADY),
            "batch",
            str(round_file),
            "--jobs",
            str(jobs),
            "--summary",
            f"{folder}/s.csv",
        ]
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        return time.perf_counter() - start


# `scaleready batch` run in a process whose own CPU time (not its workers') is printed at the end:
# the main process's work per item is what bounds the speedup as workers are added.
BATCH_MAIN_CPU = """
import resource, sys
from scaleready.cli import cli
before = resource.getrusage(resource.RUSAGE_SELF)
cli.main(["batch", *sys.argv[1:]], standalone_mode=False)
after = resource.getrusage(resource.RUSAGE_SELF)
print(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
"""


class BatchRun(NamedTuple):
    seconds: float  # wall time
    main_cpu: float  # CPU seconds of the main process alone (after imports)
    summary: bytes


def batch_run(round_file: Path, jobs: int, *options: str) -> BatchRun:
    """One `scaleready batch` of a JSONL round on ``jobs`` workers (or as ``options`` say)."""
    summary = round_file.with_name(f"summary-{jobs}-{len(options)}.csv")
    args = [sys.executable, "-c", BATCH_MAIN_CPU, str(round_file), "--jobs", str(jobs), *options]
    start = time.perf_counter()
    done = subprocess.run([*args, "--summary", str(summary)], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    return BatchRun(seconds, float(done.stdout), summary.read_bytes())


def print_parallel_scaling(count: int) -> None:
    """A large JSONL round on one worker and on two: the speedup, the main process's CPU per
    item (what bounds the speedup on many cores), and whether the summaries are the same."""
    with tempfile.TemporaryDirectory() as folder:
        round_file = Path(folder) / "round.jsonl"
        lines = (json.dumps(profile) for profile in synthetic_profiles(count, seed=2030))
        round_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        runs = {jobs: batch_run(round_file, jobs) for jobs in (1, 2)}
    one, two = runs[1], runs[2]
    main_cpu = two.main_cpu / count  # with one worker, all the work is in the main process
    print(
        f"batch of {count:,}, 1 worker     {one.seconds:6.2f} s  ({rate(count, one.seconds).strip()})"
    )
    print(
        f"batch of {count:,}, 2 workers    {two.seconds:6.2f} s  ({rate(count, two.seconds).strip()})"
        f"   main process CPU {main_cpu * 1e6:.1f} us/profile"
    )
    same = "identical" if one.summary == two.summary else "DIFFERENT"
    print(
        f"  1 -> 2 workers: {one.seconds / two.seconds:.2f}x the speed; summaries {same}; the main "
        f"process's share stops the speedup at about {one.seconds / count / main_cpu:.0f} workers"
    )


def print_dask_comparison(count: int) -> None:
    """A JSONL round on the local pool (1 and 2 processes) and on a Dask LocalCluster of 1 and 2
    worker processes (started before the clock starts, as an existing cluster would be). On a
    shared machine wall times wander; the CPU seconds of every process (the command, its workers,
    the Dask workers and scheduler) per profile say what each way costs."""
    import distributed  # the dask extra

    with tempfile.TemporaryDirectory() as folder:
        round_file = Path(folder) / "round.jsonl"
        lines = (json.dumps(profile) for profile in synthetic_profiles(count, seed=2031))
        round_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        runs = {f"local pool, {jobs} process(es)": _cpu_run(round_file, jobs) for jobs in (1, 2)}
        for workers in (1, 2):
            with (
                distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                dask = ("--executor", "dask", "--scheduler", cluster.scheduler_address)
                before = sum(client.run(_cpu_seconds).values())
                run, cpu = _cpu_run(round_file, 1, *dask)
                runs[f"Dask, {workers} worker(s)"] = (
                    run,
                    cpu + sum(client.run(_cpu_seconds).values()) - before,
                )
    reference = next(iter(runs.values()))[0].summary
    for label, (run, cpu) in runs.items():
        same = "identical" if run.summary == reference else "DIFFERENT"
        print(
            f"batch of {count:,}, {label:<24} {run.seconds:6.2f} s  ({rate(count, run.seconds).strip()})"
            f"  CPU {cpu / count * 1e3:5.2f} ms/profile (main process {run.main_cpu / count * 1e3:4.2f})"
            f"; summary {same}"
        )


def _cpu_seconds() -> float:
    """This process's CPU seconds (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_run(round_file: Path, jobs: int, *options: str) -> tuple[BatchRun, float]:
    """A batch run, and the CPU seconds of this process (a Dask scheduler runs in it) and of
    every process it waited for (the command and its local workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN), _cpu_seconds()
    run = batch_run(round_file, jobs, *options)
    after = resource.getrusage(resource.RUSAGE_CHILDREN), _cpu_seconds()
    children = after[0].ru_utime + after[0].ru_stime - before[0].ru_utime - before[0].ru_stime
    return run, children + after[1] - before[1]


def _descendants(root: int) -> list[int]:
    """The pids of a process's children, grandchildren... (from /proc: no psutil here)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it ended while we looked
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError):
        return 0.0


# Linux carries a process's peak RSS across exec, and a child starts from its parent's: measured
# straight from this (large) process, a small command would seem as large as the benchmark. So a
# bare interpreter (a few MiB) starts the command and reports its peak.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
sys.exit(min(abs(os.waitstatus_to_exitcode(status)), 255))
"""


def peak_memory(args: list[str], cwd: Path) -> tuple[float, float]:
    """Peak resident memory of a command, in MiB: of its largest process (from wait4), and of
    all its processes together (sampled every 50 ms from /proc)."""
    peak_file, errors = cwd / ".peak_kib", cwd / ".stderr"
    launcher = [sys.executable, "-S", "-c", LAUNCHER, str(peak_file), *args]
    with errors.open("wb") as stderr:
        process = subprocess.Popen(launcher, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
    together = 0.0
    while process.poll() is None:
        pids = _descendants(process.pid)
        together = max(together, sum(_rss_mib(p) for p in pids))
        time.sleep(0.05)
    if process.returncode not in (0, 1, 3):
        raise RuntimeError(f"{args[:2]} failed: {errors.read_text()[-2000:]}")
    return int(peak_file.read_text()) / 1024, together


def assess_memory(count: int) -> tuple[float, float]:
    """Peak memory of `scaleready assess --format json` over ``count`` profile files."""
    with tempfile.TemporaryDirectory() as folder:
        names = []
        for number, profile in enumerate(synthetic_profiles(count, seed=2028)):
            names.append(f"p{number}.json")
            (Path(folder) / names[-1]).write_text(json.dumps(profile), encoding="utf-8")
        args = [str(SCALEREADY), "assess", *names, "--format", "json", "--output", "cards.json"]
        return peak_memory(args, Path(folder))


def batch_memory(count: int) -> tuple[float, float]:
    """Peak memory of `scaleready batch` over a JSONL round with every output on."""
    with tempfile.TemporaryDirectory() as folder:
        lines = (json.dumps(profile) for profile in synthetic_profiles(count, seed=2029))
        (Path(folder) / "round.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        args = [str(SCALEREADY), "batch", "round.jsonl", "--summary", "s.xlsx"]
        args += ["--scorecards", "cards.jsonl", "--report", "round.html", "--jobs", "2"]
        return peak_memory(args, Path(folder))


def print_memory_growth(label: str, measure, small: int, large: int) -> None:
    """Peak memory at two sizes and the growth between them (the target: under 40 MiB)."""
    (small_one, small_all), (large_one, large_all) = measure(small), measure(large)
    print(
        f"peak memory, {label:<22} {small:>6,}: {small_one:6.1f} MiB   {large:>6,}: "
        f"{large_one:6.1f} MiB   growth {large_one - small_one:+6.1f} MiB"
        f"   (all processes: {small_all:.0f} -> {large_all:.0f} MiB)"
    )


def speed_in_fresh_process(kind: str, count: int) -> float:
    """Profiles/s of one speed test, run in a process of its own.

    Throughput here varies by a third from one process to the next (memory layout on a shared
    virtual machine), so each figure is the median of three fresh processes.
    """
    args = [sys.executable, __file__, "--measure", kind, "--profiles", str(count)]
    runs = [
        float(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
        for _ in range(3)
    ]
    return statistics.median(runs)


def measure(kind: str, count: int) -> None:
    """Print one speed figure (profiles/s): the child side of speed_in_fresh_process."""
    texts = [json.dumps(profile) for profile in synthetic_profiles(count, seed=2026)]
    seconds = load_and_validate(texts) if kind == "floor" else end_to_end(texts, kind)
    print(count / seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    parser.add_argument("--profiles", type=int, default=None, help="profiles per speed test")
    parser.add_argument("--memory-only", action="store_true", help="only the peak-memory figures")
    parser.add_argument(
        "--dask-only", action="store_true", help="only the local pool against a Dask cluster"
    )
    parser.add_argument(
        "--measure", choices=["floor", "durable_rules", "python"], help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    count = options.profiles or (1_000 if options.quick else 5_000)
    if options.measure:
        measure(options.measure, count)
        return
    long_run = 10_000 if options.quick else 100_000
    if options.memory_only:
        print_peak_memory()
        return
    if options.dask_only:
        print_dask_comparison(count)
        return

    print(
        f"scaleready benchmark: {count:,} seeded synthetic profiles, four built-in rulesets, cores={os.cpu_count()}"
    )
    print("(speeds: median of three fresh processes)")
    floor = speed_in_fresh_process("floor", count)
    durable = speed_in_fresh_process("durable_rules", count)
    python = speed_in_fresh_process("python", count)
    print(f"load + validate only          {floor:>9,.0f} profiles/s   (the floor)")
    print(
        f"end to end, durable_rules     {durable:>9,.0f} profiles/s   target {TARGETS['durable_per_core']:,}/s per core"
    )
    print(
        f"end to end, python backend    {python:>9,.0f} profiles/s   target {TARGETS['python_per_core']:,}/s per core"
    )

    texts = [json.dumps(profile) for profile in synthetic_profiles(1_000, seed=2026)]
    readings = memory_over_time(texts, long_run)
    print(
        "memory (RSS) in one process:  " + ", ".join(f"{n:,}: {mib:.1f} MiB" for n, mib in readings)
    )
    print(
        f"  growth from 1,000 to {long_run:,} assessments: {readings[-1][1] - readings[0][1]:+.1f} MiB"
    )
    print(f"peak memory of this process:  {peak_rss_mib():.1f} MiB")

    cold = command_seconds([str(SCALEREADY), "assess", str(REPO / "examples" / "goodsam.yaml")])
    bare = command_seconds([sys.executable, "-c", "pass"])
    print(
        f"cold `scaleready assess`      {cold:.3f} s   (python -c pass: {bare:.3f} s)   target < {TARGETS['cold_start_seconds']} s"
    )

    batch_count = 10_000 if not options.quick else 2_000
    for jobs in (1, 2):
        seconds = batch_seconds(batch_count, jobs)
        print(
            f"batch of {batch_count:,} on {jobs} core(s)    {seconds:.2f} s  ({rate(batch_count, seconds).strip()})"
        )
    print(f"  target: 10,000 in under {TARGETS['batch_10k_seconds']} s on 2 cores")
    print_parallel_scaling(2_000 if options.quick else 20_000)
    with suppress(ImportError):  # the dask extra
        print_dask_comparison(count)
    print_peak_memory()


def print_peak_memory() -> None:
    """Peak memory of whole commands as the round grows: it must not grow with the round."""
    print_memory_growth("assess --format json", assess_memory, 300, 3_000)
    print_memory_growth("batch, every output", batch_memory, 1_000, 10_000)
    print(f"  target: growth under {TARGETS['memory_growth_mib']} MiB")


if __name__ == "__main__":
    main()
