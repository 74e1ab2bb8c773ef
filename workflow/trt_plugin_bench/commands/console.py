"""`make pipeline`'s console: Snakemake runs the DAG, this prints one line per job.

Snakemake's own console is a few hundred bytes per job (the job's banner, inputs, outputs, the
reason it runs). This driver runs Snakemake, reads that console and prints instead, per job:
``[n/N] ok      rule  wildcards  (seconds)`` (or ``FAILED``), the ``trt-plugin-bench:`` lines of
the Snakefile, each failed job's one-line reason last, and a closing line naming the results
(summary.md, the figures, report.html). The full Snakemake console is in .snakemake/log/.

Ctrl-C (SIGINT to the process group, or to ``make`` alone: make then waits for its child, so this
driver watches its ``make`` parent for a pending interrupt) stops Snakemake and says
"interrupted", naming the command that finishes the run. Works with Snakemake 9 and 7.32 (the
banners differ only in the "Finished" line).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

BANNER = re.compile(r"^(?:local)?rule (\w+):\s*$")
WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")
JOBID = re.compile(r"^\s+jobid: (\d+)\s*$")
FINISHED = re.compile(r"^Finished (?:jobid: (\d+) \(Rule: \w+\)|job (\d+)\.)\s*$")
ERROR_IN_RULE = re.compile(r"^Error in rule (\w+):\s*$")
LOG_LINE = re.compile(r"^\s+log: (\S+)")
PROGRESS = re.compile(r"^(\d+) of (\d+) steps \(.*\) done\s*$")
TOTAL = re.compile(r"^total\s+(\d+)\s*$")  # the job stats' last row
RESULTS_LINE = re.compile(r"^trt-plugin-bench: results under (\S+?)/?\s*$")
COMPLETE_LOG = re.compile(r"^Complete log(?:\(s\)| file)?: (\S+)")
NOTHING = "Nothing to be done"
OURS = "trt-plugin-bench:"
# lines of Snakemake that are never news on a successful run (everything else unknown is kept
# and shown only when the run fails without a failed job, e.g. a config or DAG error)
SNAKEMAKE_NOISE = re.compile(
    r"^(\[\w{3} \w{3} .*\d{4}\]|Select jobs to execute|Execute \d+ jobs|Building DAG|Using |Provided |Rules claiming|"
    r"Assuming |Conda environments|Job stats|job\s+count|-+\s+-+|\w+\s+\d+$|total\s+\d+|SNAKEMAKE|=+$|"
    r"  (Date|Workflow ID|Platform|Host|User|Snakemake version|Python version|Command|Snakefile|Base directory|"
    r"Run directory|Working directory|Config file|Config MD5)|\s+(input|output|log|reason|resources|threads|"
    r"wildcards|jobid|message|shell|priority|benchmark|conda-env|container|params):|Shell command:|Removing output|"
    r"Will exit after|Shutting down|Complete log|Elapsed time|Exiting because|Touching output|Reasons:|\s+\(check individual|"
    r"\s+[\w ]+:$|\s+[a-z_, ]+$|$)")


def fmt_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


@dataclass
class Job:
    rule: str
    wildcards: str = ""
    jobid: str = ""
    started: float | None = None
    log: str = ""

    def label(self) -> str:
        return f"{self.rule}  {self.wildcards.replace(', ', ' ')}".rstrip()


@dataclass
class Console:
    """Reads Snakemake's console line by line (feed) and returns the lines to print."""

    clock: Callable[[], float] = time.monotonic
    jobs: dict[str, Job] = field(default_factory=dict)
    pending: Job | None = None  # a banner whose jobid has not been read yet
    failed: list[Job] = field(default_factory=list)
    finished: int = 0
    total: int = 0
    results: str = ""
    complete_log: str = ""
    nothing_to_do: bool = False
    interrupted: bool = False
    reasons: list[str] = field(default_factory=list)  # the Snakefile's onerror lines: printed last
    other: list[str] = field(default_factory=list)  # unknown lines, shown when the run fails without a failed job
    _error: Job | None = None  # an "Error in rule" block being read
    _in_onerror: bool = False

    def _job_line(self, status: str, job: Job) -> str:
        took = fmt_seconds(self.clock() - job.started) if job.started is not None else "?"
        count = f"[{self.finished}/{self.total}] " if self.total else ""
        return f"{count}{status:<7} {job.label()}  ({took})"

    def feed(self, line: str) -> list[str]:
        line = line.rstrip("\n")
        out: list[str] = []
        if m := BANNER.match(line):
            self._error = None
            self.pending = Job(rule=m.group(1), started=self.clock())
            return out
        if self.pending is not None and (m := WILDCARDS.match(line)):
            self.pending.wildcards = m.group(1)
            return out
        if self.pending is not None and (m := JOBID.match(line)):
            self.pending.jobid = m.group(1)
            self.jobs[m.group(1)] = self.pending
            return out
        if m := TOTAL.match(line):
            self.total = int(m.group(1))
            return out
        if m := PROGRESS.match(line):
            self.total = int(m.group(2))
            return out
        if m := FINISHED.match(line):
            job = self.jobs.pop(m.group(1) or m.group(2), None)
            self.finished += 1
            if job is not None and job.rule != "all":
                out.append(self._job_line("ok", job))
            return out
        if m := ERROR_IN_RULE.match(line):
            self.pending = None
            self._error = Job(rule=m.group(1))
            return out
        if self._error is not None:
            if m := JOBID.match(line):
                job = self.jobs.pop(m.group(1), None) or self._error
                job.log = self._error.log
                self._error = job
                self.failed.append(job)
                out.append(self._job_line("stopped" if self.interrupted else "FAILED", job))
                return out
            if m := LOG_LINE.match(line):
                self._error.log = m.group(1)
                if self.failed and self.failed[-1] is self._error and not self.interrupted:
                    out.append(f"        log: {m.group(1)}")
                return out
            if line.startswith(" ") or not line.strip():
                return out
            self._error = None
        if m := RESULTS_LINE.match(line):
            self.results = m.group(1)
            return out
        if m := COMPLETE_LOG.match(line):
            self.complete_log = m.group(1)
            return out
        if line.startswith(NOTHING):
            self.nothing_to_do = True
            return out
        if line.startswith(f"{OURS} why it failed") or line.startswith(f"{OURS} no failed job's log"):
            self._in_onerror = True
            self.reasons.append(line)
            return out
        if self._in_onerror and line.startswith("  "):
            self.reasons.append(line)
            return out
        self._in_onerror = False
        if line.startswith(OURS):
            if "removed" in line and "aggregated tables" in line:  # the onerror handler's: before the reasons
                self.reasons.insert(0, line)
                return out
            out.append(line)
            return out
        if not SNAKEMAKE_NOISE.match(line):
            self.other.append(line)
        return out


def _make_interrupted(pids: list[int]) -> bool:
    """Whether one of ``pids`` (this driver's make ancestors) is handling SIGINT, SIGTERM or SIGHUP:
    make, interrupted alone, blocks the signal in its handler while it waits for its children."""
    pending = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGHUP - 1))
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for key in ("SigBlk:", "SigPnd:", "ShdPnd:"):
            m = re.search(rf"^{key}\s*([0-9a-f]+)", status, re.M)
            if m and int(m.group(1), 16) & pending:
                return True
    return False


def make_ancestors() -> list[int]:
    """The ``make`` processes among this process's parent and grandparent (Linux /proc)."""
    found, pid = [], os.getpid()
    for _ in range(3):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            break
        if comm in ("make", "gmake"):
            found.append(pid)
    return found


def snakemake_command(cores: str, args: list[str], report: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "snakemake", "--cores", cores, *args]
    return [*cmd, "--report", report] if report else cmd


def rerun_command(rerun_as: str, args: list[str]) -> str:
    if rerun_as == "make":
        return "make pipeline" + (f" SNAKEMAKE_ARGS={shlex.quote(' '.join(args))}" if args else "")
    return shlex.join(["snakemake", *args])


class Driver:
    """Runs Snakemake in its own process group, printing the Console's lines; forwards an
    interrupt (its own SIGINT/SIGTERM, or its make parent's) to that group."""

    def __init__(self, cmd: list[str], out: TextIO) -> None:
        self.cmd, self.out = cmd, out
        self.console = Console()
        self.proc: subprocess.Popen | None = None
        self.interrupts = 0
        self._done = threading.Event()

    def interrupt(self) -> None:
        self.interrupts += 1
        self.console.interrupted = True
        if self.proc is not None and self.proc.poll() is None:
            sig = signal.SIGINT if self.interrupts < 3 else signal.SIGTERM
            try:
                os.killpg(self.proc.pid, sig)
            except OSError:
                pass

    def _watch_make(self, ancestors: list[int]) -> None:
        seen = 0  # twice in a row, half a second apart: make blocks signals for an instant when it forks
        while not self._done.wait(0.5):
            seen = seen + 1 if _make_interrupted(ancestors) else 0
            if seen >= 2 and not self.console.interrupted:
                self.interrupt()

    def run(self) -> int:
        old = {s: signal.signal(s, lambda *_: self.interrupt()) for s in (signal.SIGINT, signal.SIGTERM)}
        ancestors = make_ancestors()
        try:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         bufsize=1, start_new_session=True, errors="replace")
            if ancestors:
                threading.Thread(target=self._watch_make, args=(ancestors,), daemon=True).start()
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                for printed in self.console.feed(line):
                    print(printed, file=self.out, flush=True)
            return self.proc.wait()
        finally:
            self._done.set()
            for s, handler in old.items():
                signal.signal(s, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trt_plugin_bench.commands.console", description=__doc__.split("\n")[0])
    parser.add_argument("--cores", default="1")
    parser.add_argument("--rerun-as", choices=["make", "snakemake"], default="snakemake",
                        help="the command named to finish an interrupted or failed run")
    parser.add_argument("--no-report", action="store_true", help="skip Snakemake's HTML report")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="Snakemake's arguments (after --)")
    ns = parser.parse_args(argv)
    args = ns.args[1:] if ns.args[:1] == ["--"] else ns.args
    out = sys.stdout
    start = time.monotonic()
    rerun = rerun_command(ns.rerun_as, args)
    driver = Driver(snakemake_command(ns.cores, args), out)
    rc = driver.run()
    con = driver.console
    results = con.results or "results/<experiment>"
    log_hint = f"; Snakemake's full console: {con.complete_log}" if con.complete_log else ""
    if con.interrupted:
        print(f"{OURS} interrupted after {fmt_seconds(time.monotonic() - start)}: {con.finished} jobs finished and "
              f"kept; run `{rerun}` to finish the rest{log_hint}", file=out, flush=True)
        return 130
    if rc != 0:
        if not con.failed and con.other:  # no job failed: a config or DAG error, in Snakemake's words
            for line in con.other[-40:]:
                print(line, file=out)
        print(f"{OURS} FAILED after {fmt_seconds(time.monotonic() - start)} ({len(con.failed)} job(s) failed, "
              f"{con.finished} finished and kept); fix what the line(s) below say and run `{rerun}`{log_hint}",
              file=out)
        for line in con.reasons:
            print(line, file=out)
        out.flush()
        return rc
    report = f"{results}/report.html"
    if not ns.no_report and con.results:
        rep = subprocess.run(snakemake_command(ns.cores, args, report=report), capture_output=True, text=True)
        if rep.returncode != 0:
            print(rep.stdout[-3000:] + rep.stderr[-3000:], file=out)
            print(f"{OURS} the HTML report failed (the results are complete): run `{rerun}` again", file=out)
            return rep.returncode
    what = "nothing to do, every result is up to date" if con.nothing_to_do else f"done: {con.finished} jobs"
    print(f"{OURS} {what} ({fmt_seconds(time.monotonic() - start)}). Results: {results}/tables/summary.md, "
          f"figures in {results}/figures/, report {report}; MLflow runs: `make ui`", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
