"""`tpb verdict --rebuild REV`: the baseline plugin rebuilt from a git revision and timed against the
candidate's in ONE process, interleaved on shared buffers (measure.measure_interleaved, the compare
rule's method), with the A/A control of the same run as the noise band.

Separate runs cannot resolve 1 %: on the H200 (2026-12-02) two runs of the same code four minutes
apart were SAME in only 44 of 120 states (idle-start modes drifted up to 32 % between runs).

1. ``git archive REV plugin/`` into results/verdict/rebuild/<sha>/src (prepare_source); a revision
   whose plugin/CMakeLists.txt lacks the TPB_PLUGIN_NAMESPACE option cannot live beside the
   candidate's library and is refused before any work, naming the first commit that has it.
2. CMake with ``-DTPB_PLUGIN_NAMESPACE=tpb_base_<sha8> -DTPB_LIBRARY_SUFFIX=_base_<sha8>`` and the
   candidate's CUDA architectures (cmake_commands), into results/verdict/rebuild/<sha>/build.
3. The candidate: this checkout's plugin/ copied to results/verdict/rebuild/candidate-<hash> and built by
   the same recipe (``tpb_cand_<hash8>``; candidate_source), not the DAG's library: a library built by
   another route (`tpb compile`, namespace "", another folder) has its own code layout, and its stable
   offset is one the A/A control cannot see (fp32 1 MiB warm, +1.65 % and +2.5 % in two H100 runs of
   identical sources, 2026-12-07). The run's facts say when plugin/ is not the source the candidate's
   tables were measured with.
4. Per state of the candidate's plugin sweeps (the engines' build records give the EngineSpec): the
   candidate engine, the baseline engine (same spec, the baseline's
   namespace) and the A/A control's engine (a second, independent build of the baseline: its own
   library ``tpb_aa_<sha8>``, its own engine, so a stable per-build offset enters the band), built into
   results/verdict/rebuild/<sha>/engines and cached by spec hash; each shape and mode timed interleaved,
   candidate, baseline, candidate, second build (stats.AA_PATTERN), with a progress line per state.
5. judge_interleaved: verdict.py's statistics on those raw samples; AMBIGUOUS states re-measured
   adaptively (remeasure: 2x to 8x the time, more near the band's edge, at most
   verdict.remeasure_rounds rounds); a noisy A/A widens every band, never vetoes; the wall time printed.

For tests of the method (CandidateOptions): ``--candidate-cmake-arg`` adds CMake arguments to the
candidate's build (the planted slowdown TPB_PLANTED_SLOWDOWN_PERMILLE); ``--candidate-kernel`` builds the
candidate's engines with another kernel variant.

The CPU reference backend has no plugin library: it compares separate runs (verdict.py), then re-times the
plugin states they leave undecided with this module's judging, both settings in one process (cpu_retime.py).
Without git (a copy of the tree, as on the GPU machines) a source prepared before is used: run
``tpb verdict --rebuild REV --prepare-only`` where git is, and bring results/verdict/rebuild along.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.provenance import plugin_source_hash
from ..core.schema import PROJECT_ROOT

if TYPE_CHECKING:
    from ..core.settings import Settings as TypedSettings
from .verdict import (
    NOISY_SIGNIFICANCE,
    STATE_KEYS,
    VERDICTS,
    Settings,
    VerdictInputError,
    VerdictRow,
    _state_seed,
    beyond_chance,
    binomial_tail,
    bootstrap_ratio,
    confirm_by_ranks,
    judge,
    judge_band,
    rank_test,
    resolution_term,
    widen_when_noisy,
)

NAMESPACE_OPTION = "TPB_PLUGIN_NAMESPACE"
SUFFIX_OPTION = "TPB_LIBRARY_SUFFIX"
REBUILD_ROOT = Path("results/verdict/rebuild")
StateKey = tuple[str, str, str, str, str]  # operator, dtype, profile, shape, mode


class RebuildError(VerdictInputError):
    """--rebuild cannot be done (old revision, no git, failed build): exit status 2."""


@dataclass(frozen=True)
class RebuildSource:
    rev: str  # as the user named it
    sha: str
    root: Path  # results/verdict/rebuild/<sha>
    target: str = ""  # the plugin library file its operators' specs name (plugin.library.target)
    # "base": the baseline; "aa": a second, independent build of it (the A/A control, so stable per-build
    # offsets enter the band); "cand": the candidate built here with extra CMake arguments (a planted change)
    role: str = "base"
    cmake_args: tuple[str, ...] = ()

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def plugin_dir(self) -> Path:
        return self.src / "plugin"

    @property
    def namespace(self) -> str:
        return f"tpb_{self.role}_{self.sha[:8]}"

    @property
    def suffix(self) -> str:
        return f"_{self.role}_{self.sha[:8]}"

    @property
    def build_dir(self) -> Path:
        return self.root / ("build" if self.role == "base" else f"build_{self.role}")

    @property
    def library(self) -> Path:
        """This copy of the specs' library: its file name with the suffix before .so."""
        if not self.target:
            raise RebuildError("--rebuild: no plugin operator names the library to rebuild (plugin.library.target)")
        return self.build_dir / f"{Path(self.target).name.removesuffix('.so')}{self.suffix}.so"

    def second_build(self) -> RebuildSource:
        """The A/A control's copy: the same source, built again into its own folder under its own names."""
        return replace(self, role="aa")

    @property
    def cmake_target(self) -> str:
        """The CMake target that builds it: the file name without lib and .so."""
        return Path(self.library.name.removesuffix(f"{self.suffix}.so")).name.removeprefix("lib")


def _git(args: list[str], root: Path, binary: bool = False) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=not binary, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RebuildError(f"--rebuild: git {' '.join(args)} failed in {root} ({exc})") from exc


def supports_rebuild(cmakelists: str) -> bool:
    """Whether a revision's plugin/CMakeLists.txt has the options a second copy needs."""
    return NAMESPACE_OPTION in cmakelists and SUFFIX_OPTION in cmakelists


def first_supporting_commit(git_root: Path) -> str | None:
    """The oldest commit whose plugin/CMakeLists.txt introduced TPB_PLUGIN_NAMESPACE ('<sha12> <subject>')."""
    proc = _git(["log", "--reverse", "--format=%H %s", "-S", NAMESPACE_OPTION, "--", "plugin/CMakeLists.txt"], git_root)
    lines = proc.stdout.strip().splitlines() if proc.returncode == 0 else []
    if not lines:
        return None
    sha, _, subject = lines[0].partition(" ")
    return f"{sha[:12]} ({subject[:80]})"


def is_git_checkout(root: Path) -> bool:
    """Whether ``root`` is in a git work tree (False also where git itself is missing)."""
    try:
        proc = _git(["rev-parse", "--is-inside-work-tree"], root)
    except RebuildError:
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def resolve(rev: str, git_root: Path) -> str:
    proc = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], git_root)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RebuildError(f"--rebuild {rev}: not a git revision in {git_root}")
    return proc.stdout.strip()


def unsafe_member(member: tarfile.TarInfo, dest: Path) -> str:
    """Why extracting ``member`` under ``dest`` (resolved) would write outside it or make a special file
    ('' if it is safe): an absolute name or link, a '..' part, a link pointing outside, a device or fifo."""
    name = member.name
    if name.startswith(("/", "\\")) or os.path.isabs(name) or Path(name).drive:
        return "an absolute path"
    if ".." in Path(name).parts:
        return "a '..' part"
    target = (dest / name).resolve()
    if target != dest and dest not in target.parents:
        return "a path outside the destination"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "a device file, fifo or other special file"
    if member.issym() or member.islnk():
        link = member.linkname
        if link.startswith(("/", "\\")) or os.path.isabs(link) or Path(link).drive:
            return f"a link to the absolute path {link!r}"
        # a symbolic link is relative to its own folder, a hard link to the archive's root
        base = (dest / name).parent if member.issym() else dest
        resolved = (base / link).resolve()
        if resolved != dest and dest not in resolved.parents:
            return f"a link pointing outside the destination ({link!r})"
    return ""


def extract_safely(tar: tarfile.TarFile, dest: Path) -> None:
    """Extract ``tar`` under ``dest`` refusing what leaves it: tarfile's "data" filter where this Python has
    it (3.11.4+, 3.12), else (trt-kit's Python 3.11.2) every member checked first (unsafe_member), nothing
    extracted if one is unsafe, and the setuid/setgid/sticky and group/other write bits dropped as the
    filter does. ValueError names the first unsafe member."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if hasattr(tarfile, "data_filter"):
        try:
            tar.extractall(dest, filter="data")
        except tarfile.FilterError as exc:
            raise ValueError(f"refused an unsafe member ({exc})") from exc
        return
    root = dest.resolve()
    members = tar.getmembers()
    for member in members:
        why = unsafe_member(member, root)
        if why:
            raise ValueError(f"refused the member {member.name!r}: {why}")
    for member in members:
        if member.isfile() or member.isdir():
            member.mode &= 0o755
    tar.extractall(dest, members=members)


def prepare_source(rev: str, git_root: Path, rebuild_root: Path) -> RebuildSource:
    """The revision's plugin/ under ``rebuild_root``/<sha>/src (kept: a second call reuses it), and
    rev.json naming it; RebuildError before any work for a revision without the namespace option."""
    sha = resolve(rev, git_root)
    shown = _git(["show", f"{sha}:plugin/CMakeLists.txt"], git_root)
    if shown.returncode != 0:
        raise RebuildError(f"--rebuild {rev}: revision {sha[:12]} has no plugin/CMakeLists.txt")
    if not supports_rebuild(shown.stdout):
        first = first_supporting_commit(git_root)
        raise RebuildError(
            f"--rebuild {rev}: revision {sha[:12]} predates the plugin's {NAMESPACE_OPTION}/{SUFFIX_OPTION} CMake "
            "options, so its library cannot be loaded beside the candidate's; --rebuild needs a revision at or after "
            + (f"commit {first}, the first that has them" if first else "the commit that introduced them (none in "
               "this repository's history)")
            + " (or compare separate runs: --no-rebuild)")
    source = RebuildSource(rev, sha, Path(rebuild_root) / sha)
    if not (source.plugin_dir / "CMakeLists.txt").is_file():
        archive = _git(["archive", "--format=tar", sha, "plugin/"], git_root, binary=True)
        if archive.returncode != 0:
            raise RebuildError(f"--rebuild {rev}: git archive {sha[:12]} plugin/ failed: "
                               f"{archive.stderr.decode(errors='replace').strip()[-300:]}")
        source.src.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            try:
                extract_safely(tar, source.src)
            except (tarfile.TarError, ValueError) as exc:
                raise RebuildError(f"--rebuild {rev}: git archive {sha[:12]} plugin/: {exc}") from exc
    (source.root / "rev.json").write_text(json.dumps({"rev": rev, "sha": sha, "namespace": source.namespace,
                                                      "suffix": source.suffix}, indent=2))
    _alias(Path(rebuild_root), rev, sha)
    return source


def _alias(rebuild_root: Path, rev: str, sha: str) -> None:
    """results/verdict/rebuild/revs.json: the names revisions were prepared under (for a tree without git)."""
    path = rebuild_root / "revs.json"
    try:
        names = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        names = {}
    names[rev] = sha
    path.write_text(json.dumps(names, indent=2, sort_keys=True))


def prepared_source(rev: str, rebuild_root: Path) -> RebuildSource:
    """Without git: the source prepared for ``rev`` before (by name, or a sha prefix)."""
    rebuild_root = Path(rebuild_root)
    try:
        names = json.loads((rebuild_root / "revs.json").read_text())
    except (OSError, json.JSONDecodeError):
        names = {}
    sha = names.get(rev) or next((d.name for d in sorted(rebuild_root.glob("*")) if d.is_dir()
                                  and len(rev) >= 7 and d.name.startswith(rev)), None)
    if not sha or not (rebuild_root / sha / "src" / "plugin" / "CMakeLists.txt").is_file():
        raise RebuildError(f"--rebuild {rev}: this tree is not a git checkout and {rebuild_root} holds no source "
                           f"prepared for {rev!r}: run `tpb verdict --rebuild {rev} --prepare-only` in a checkout "
                           f"and bring {rebuild_root} along")
    return RebuildSource(rev, sha, rebuild_root / sha)


def locate_source(rev: str, git_root: Path, rebuild_root: Path) -> RebuildSource:
    """The baseline's source: from git where ``rev`` resolves there, else the one prepared for it. A
    checkout whose history lacks ``rev`` (the GPU machine's copy carries the session's starting commit
    only, 2026-12-02) takes a prepared source of that full sha, and still refuses an unprepared one."""
    if not is_git_checkout(git_root):
        return prepared_source(rev, rebuild_root)
    try:
        return prepare_source(rev, git_root, rebuild_root)
    except RebuildError as exc:
        if "not a git revision" not in str(exc):
            raise
        try:
            return prepared_source(rev, rebuild_root)
        except RebuildError:
            raise exc from None


def cmake_commands(source: RebuildSource, cuda_architectures: str, jobs: int | None = None) -> list[list[str]]:
    """Configure and build the baseline library: its namespace and suffix, the candidate's architectures."""
    build = source.build_dir
    configure = ["cmake", "-S", str(source.plugin_dir), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                 *([f"-DCMAKE_CUDA_ARCHITECTURES={cuda_architectures}"] if cuda_architectures else []),
                 f"-D{NAMESPACE_OPTION}={source.namespace}", f"-D{SUFFIX_OPTION}={source.suffix}", *source.cmake_args]
    return [configure, ["cmake", "--build", str(build), "-j", str(jobs or os.cpu_count() or 2), "--target", source.cmake_target]]


def candidate_architectures(manifest: dict) -> str:
    """The CUDA architectures the candidate's library was compiled for ('' = the compiler's default)."""
    arch = str(manifest.get("cuda_architectures") or "")
    return "" if arch == "compiler default" else arch


def build_baseline(source: RebuildSource, cuda_architectures: str, log_path: Path, jobs: int | None = None) -> Path:
    """Build (once) the baseline library; RebuildError naming the log when CMake fails."""
    from ..commands.compile import _run

    if source.library.is_file():
        return source.library
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log_file:
        try:
            for cmd in cmake_commands(source, cuda_architectures, jobs):
                _run(cmd, log_file)
        except (RuntimeError, OSError) as exc:
            raise RebuildError(f"--rebuild {source.rev}: building the baseline plugin of {source.sha[:12]} failed: "
                               f"{exc} (log: {log_path})") from exc
    if not source.library.is_file():
        raise RebuildError(f"--rebuild {source.rev}: the build finished but {source.library} is missing (log: {log_path})")
    return source.library


def build_all(sources: list[RebuildSource], cuda_architectures: str) -> list[Path]:
    """build_baseline for every copy at once (CPU work: the baseline, its A/A copy, a planted candidate),
    each CMake build with its share of the cores; the libraries in ``sources``' order."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = max(1, (os.cpu_count() or 2) // max(len(sources), 1))
    with ThreadPoolExecutor(max_workers=max(len(sources), 1)) as pool:
        futures = [pool.submit(build_baseline, src, cuda_architectures, src.root / f"build_{src.role}.log", jobs)
                   for src in sources]
        return [f.result() for f in futures]


def candidate_source(plugin_dir: Path, cmake_args: tuple[str, ...], rebuild_root: Path) -> RebuildSource:
    """This checkout's plugin/ (as it is now, edits included) copied under ``rebuild_root``/candidate-<hash>,
    to be built with ``cmake_args`` (e.g. -DTPB_PLANTED_SLOWDOWN_PERMILLE=20) as the candidate."""
    import shutil

    h = hashlib.sha256(json.dumps(list(cmake_args)).encode())
    skip = {"build", "__pycache__"}
    files = sorted(p for p in Path(plugin_dir).rglob("*") if p.is_file() and not skip & set(p.relative_to(plugin_dir).parts))
    for f in files:
        h.update(str(f.relative_to(plugin_dir)).encode() + b"\0" + f.read_bytes())
    digest = h.hexdigest()
    root = Path(rebuild_root) / f"candidate-{digest[:12]}"
    source = RebuildSource("this checkout", digest, root, role="cand", cmake_args=tuple(cmake_args))
    if not (source.plugin_dir / "CMakeLists.txt").is_file():
        shutil.copytree(plugin_dir, source.plugin_dir, ignore=shutil.ignore_patterns("build", "__pycache__"))
    (root / "args.json").write_text(json.dumps({"cmake_args": list(cmake_args), "sources": digest}, indent=2))
    return source


def spec_hash(spec_json: dict, namespace: str, library_sha: str) -> str:
    """The engine cache's key: what the engine computes, whose creators built it, from which library."""
    blob = json.dumps({"spec": spec_json, "namespace": namespace, "library": library_sha}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# -- interleaved measurements and their judging ----------------------------------------------------
@dataclass
class InterleavedState:
    """One state's raw samples (µs) from interleaved rounds: each round one stratum per side."""

    key: StateKey
    elements: int
    backend: str
    candidate: list[np.ndarray] = field(default_factory=list)
    baseline: list[np.ndarray] = field(default_factory=list)
    control: list[np.ndarray] = field(default_factory=list)  # the baseline timed a second time (A/A)
    verified_candidate: bool = True
    verified_baseline: bool = True
    hot: str = ""  # why the GPU's state, not the change, may explain the timings ('' if none)
    rounds: int = 0
    # the bootstrap intervals and rank tests of these samples, by (rounds, settings): a re-judging after a
    # re-measurement round bootstraps only the states it re-measured (each state's intervals take ~1 s)
    judged: dict = field(default_factory=dict)

    def add(self, cand: np.ndarray, base: np.ndarray, control: np.ndarray) -> None:
        self.candidate.append(np.asarray(cand, dtype=np.float64))
        self.baseline.append(np.asarray(base, dtype=np.float64))
        self.control.append(np.asarray(control, dtype=np.float64))
        self.rounds += 1
        self.judged.clear()


def judge_interleaved(states: list[InterleavedState], settings: Settings) -> tuple[list[VerdictRow], list[str]]:
    """verdict.py's statistics on interleaved samples: the bootstrap interval of candidate ÷ baseline;
    the band the largest of min_effect, the A/A control of the same rounds (|b′ ÷ b − 1| + its
    interval's half width) and 2.5 timer steps (verdict.RESOLUTION_STEPS); SAME/FAST/SLOW/AMBIGUOUS,
    FAIL for a wrong output.
    Also the reasons the run is too noisy: its A/A pairs, judged the same way against the band
    without the A/A term, FAST or SLOW in more states than the per-state false-positive rate explains."""
    rows: list[VerdictRow] = []
    aa_flagged = 0
    aa_terms: list[float] = []
    alpha = 1.0 - settings.confidence
    for st in states:
        seed = _state_seed(settings.seed, st.key)
        memo = (st.rounds, settings.confidence, settings.resamples, seed)
        if memo not in st.judged:
            st.judged[memo] = (
                bootstrap_ratio(st.baseline, st.candidate, settings.confidence, settings.resamples, seed),
                bootstrap_ratio(st.baseline, st.control, settings.confidence, settings.resamples, seed + 1),
                rank_test(st.baseline, st.control), rank_test(st.baseline, st.candidate))
        (ratio, low, high), (aa, aa_low, aa_high), aa_rank_p, rank_p = st.judged[memo]
        med_b, med_c = float(np.median(np.concatenate(st.baseline))), float(np.median(np.concatenate(st.candidate)))
        terms = {"min_effect": settings.min_effect,
                 "resolution": resolution_term([*st.baseline, *st.candidate, *st.control], min(med_b, med_c))}
        if judge(aa_low, aa_high, max(terms.values())) in ("FAST", "SLOW") and aa_rank_p < alpha:
            aa_flagged += 1
        terms["aa_control"] = abs(aa - 1.0) + (aa_high - aa_low) / 2.0
        aa_terms.append(terms["aa_control"])
        verdict, reason, band, band_from = judge_band(low, high, terms, settings.max_band)
        verdict, reason = confirm_by_ranks(verdict, reason, rank_p, settings.confidence)
        if not st.verified_candidate:
            verdict, reason = "FAIL", "the candidate's output check failed"
        elif st.hot:
            verdict, reason = "AMBIGUOUS", st.hot
        elif not st.verified_baseline:
            reason = "the baseline's output check failed: its timing may not be of correct work"
        if st.rounds > 1 and not reason:
            reason = f"after {st.rounds - 1} re-measurement round(s)"
        op, dtype, profile, shape, mode = st.key
        rows.append(VerdictRow(op, dtype, profile, shape, st.elements, mode, st.backend, med_b, med_c, ratio, low, high,
                               band, band_from, "bootstrap (interleaved)", sum(map(len, st.baseline)),
                               sum(map(len, st.candidate)), verdict, reason, rank_p))
    noisy = []
    if beyond_chance(aa_flagged, len(states), alpha, NOISY_SIGNIFICANCE):
        widen = float(np.quantile(aa_terms, 0.95))
        noisy.append(f"its A/A control (the baseline's second build) is FAST or SLOW in {aa_flagged} of {len(states)} "
                     f"states, {alpha * len(states):.1f} allowed at the {100 * alpha:g} % per-state false-positive "
                     f"rate (binomial P = {binomial_tail(aa_flagged, len(states), alpha):.2g}): every state's band is "
                     f"widened to at least ±{100 * widen:.1f} % (the 95th percentile of the A/A terms)")
        rows = widen_when_noisy(rows, widen, settings.max_band)
    return rows, noisy


MeasureFn = Callable[[list[StateKey], float], dict[StateKey, tuple[np.ndarray, np.ndarray, np.ndarray]]]


MAX_REMEASURE_FACTOR = 8  # a state's re-measurement gets at most this many times the first round's time


def remeasure_factor(row: VerdictRow) -> int:
    """How much more time an AMBIGUOUS state needs, as a power of two in [2, MAX_REMEASURE_FACTOR]: the
    interval's half width shrinks as 1/√n, so to clear the nearest band edge from the ratio's distance d
    to it, n grows by (half width ÷ d)²; a ratio on the edge takes the most (Pinpoint's "more runs where
    it is unknown", bounded)."""
    half = (row.ci_high - row.ci_low) / 2.0
    d = min(abs(row.ratio - (1.0 + row.band)), abs(row.ratio - (1.0 - row.band)))
    need = (half / d) ** 2 if d > 0 else math.inf
    factor = 2
    while factor < MAX_REMEASURE_FACTOR and factor < need:
        factor *= 2
    return factor


def remeasure(states: list[InterleavedState], rows: list[VerdictRow], measure: MeasureFn, time_s: float,
              rounds: int, settings: Settings, noisy: list[str] | None = None,
              label: str = "verdict --rebuild") -> tuple[list[VerdictRow], list[str], int]:
    """Re-measure the AMBIGUOUS states (their interval straddles a band edge, or the band is too wide to
    call SAME and more samples narrow its A/A term; not those a hot GPU made so), adaptively: each state gets remeasure_factor
    times ``time_s`` (2x to 8x, more the closer its ratio sits to the edge), at most ``rounds`` rounds;
    each round's samples are one more stratum. Returns the final rows, the noisy reasons and the rounds run."""
    by_key = {st.key: st for st in states}
    noisy = judge_interleaved(states, settings)[1] if noisy is None else noisy
    done = 0
    for k in range(1, rounds + 1):
        todo = [r for r in rows if r.verdict == "AMBIGUOUS"
                and not by_key[r.state].hot]
        if not todo:
            break
        groups: dict[int, list[StateKey]] = {}
        for r in todo:
            groups.setdefault(remeasure_factor(r), []).append(r.state)
        print(f"{label}: re-measurement round {k} of at most {rounds}: {len(todo)} AMBIGUOUS state(s) "
              "straddling the band, " + ", ".join(f"{len(v)} at {time_s * f:g} s" for f, v in sorted(groups.items())),
              flush=True)
        for factor, keys in sorted(groups.items()):
            for key, (cand, base, control) in measure(keys, time_s * factor).items():
                by_key[key].add(cand, base, control)
        done = k
        rows, noisy = judge_interleaved(states, settings)
    return rows, noisy, done


def _mapped_libraries(paths: list[Path]) -> str:
    """Which of ``paths`` this process has mapped (/proc/self/maps): both, for an interleaved run."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "unknown (no /proc/self/maps)"
    return ", ".join(f"{Path(p).name} {'mapped' if str(Path(p).resolve()) in maps else 'NOT MAPPED'}" for p in paths)


def write_interleaved_samples(folder: Path, states: list[InterleavedState], device_name: str,
                              backend: str) -> list[Path]:
    """Every state's raw samples (µs), samples.py's format, one file per sweep and side:
    ``<op>__<dtype>__<profile>.<candidate|baseline|control>.npz``, each round a "repeat"."""
    from ..measure.samples import write_samples

    by_sweep: dict[tuple[str, str, str], list[InterleavedState]] = {}
    for st in states:
        by_sweep.setdefault(st.key[:3], []).append(st)
    written = []
    for (op, dtype, profile), sts in sorted(by_sweep.items()):
        for side in ("candidate", "baseline", "control"):
            meta = {"operator": op, "dtype": dtype, "profile": profile, "backend": backend, "device_name": device_name,
                    "kernel": "", "side": side}
            arrays = {(st.key[3], st.key[4], r): a for st in sts for r, a in enumerate(getattr(st, side))}
            written.append(write_samples(Path(folder) / f"{op}__{dtype}__{profile}.{side}.npz", meta, arrays))
    return written


# -- the GPU part ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PluginSweep:
    """A candidate latency sweep of a plugin operator: its build record's spec and its states."""

    spec_json: dict
    shapes: list[tuple[int, ...]]
    modes: list[str]


def plugin_sweeps(candidate_dir: Path, modes: list[str], state_filter: str = "") -> list[PluginSweep]:
    """The plugin operators' sweeps of the candidate's results folder (tables/latency.csv), each with
    the EngineSpec of its engine's build record (results/engines/<op>__<dtype>__<profile>.build.json)."""
    import re

    import pandas as pd

    from ..core.operators import OPERATORS, get_operator

    latency = pd.read_csv(Path(candidate_dir) / "tables" / "latency.csv")
    out = []
    pattern = re.compile(state_filter) if state_filter else None
    for (op, dtype, profile), grp in latency.groupby(["operator", "dtype", "profile"]):
        if op not in OPERATORS or not get_operator(op).uses_plugin:
            continue
        shapes, kept_modes = [], []
        for shape in sorted(set(grp["shape"].astype(str)), key=lambda s: math.prod(int(v) for v in s.split("x"))):
            for mode in modes:
                if mode in set(grp["mode"]) and (pattern is None or pattern.search(f"{op}/{dtype}/{profile}/{shape}/{mode}")):
                    shapes.append(tuple(int(v) for v in shape.split("x")))
                    kept_modes.append(mode)
        pairs = sorted(set(zip(shapes, kept_modes)))
        if not pairs:  # the filter left none of this sweep: its engine is not needed
            continue
        record = Path(candidate_dir) / "engines" / f"{op}__{dtype}__{profile}.build.json"
        if not record.is_file():
            raise RebuildError(f"--rebuild: the candidate's engine record {record} is missing (the build_engine rule "
                               "writes it): its EngineSpec is what both engines are built from")
        out.append(PluginSweep(json.loads(record.read_text())["spec"], [p[0] for p in pairs], [p[1] for p in pairs]))
    return out


@dataclass(frozen=True)
class CandidateOptions:
    """What stands for the candidate in --rebuild beyond its results folder (planted changes, for tests of
    the method): ``cmake_args`` builds this checkout's plugin/ again with them (candidate_source) and times
    that library; ``kernel`` builds the candidate's engines with that kernel variant (e.g. the naive one)."""

    cmake_args: tuple[str, ...] = ()
    kernel: str = ""

    @property
    def label(self) -> str:
        parts = [f"built with {' '.join(self.cmake_args)}"] if self.cmake_args else []
        return ", ".join(parts + ([f"kernel {self.kernel}"] if self.kernel else []))


def run_interleaved(candidate_dir: Path, source: RebuildSource, config: TypedSettings, modes: list[str], time_s: float,
                    rounds: int, settings: Settings, state_filter: str = "",
                    options: CandidateOptions | None = None) -> tuple[list[VerdictRow], list[str], dict]:
    """The libraries in this process (TensorRT backend), every plugin state of the candidate timed
    interleaved with its baseline and the baseline's second build (the A/A control); AMBIGUOUS states
    re-measured. Returns rows, noisy reasons and facts."""
    from ..backends import get_backend
    from ..backends.base import EngineSpec, sha256_file, write_build_record
    from ..commands.sweeps import builder_config
    from ..core.operators import for_engine
    from ..core.records import shape_str
    from ..core.stats import AA_PATTERN, StoppingRule
    from ..device.gpu_state import throttled
    from ..device.host import quiet_host
    from ..measure.measure import Plan, State, engine_timers, measure_interleaved

    options = options or CandidateOptions()
    wall = {"start": time.perf_counter()}
    manifest = json.loads((Path(candidate_dir) / "build" / "manifest.json").read_text())
    sweeps = plugin_sweeps(candidate_dir, modes, state_filter)
    if not sweeps:
        raise RebuildError(f"--rebuild: no plugin state of {candidate_dir} matches (modes {modes}"
                           + (f", filter {state_filter!r}" if state_filter else "") + ")")
    op_spec = for_engine(EngineSpec.from_json(sweeps[0].spec_json))  # the specs' library, rebuilt from plugin/
    source = replace(source, target=op_spec.plugin.library.target or "")
    aa_source = source.second_build()
    # the candidate by the baseline's recipe (module docstring, step 3): identical sources differ only as the A/A does
    cand_source = replace(candidate_source(PROJECT_ROOT / "plugin", options.cmake_args, source.root.parent),
                          target=source.target)
    copies = [source, aa_source, cand_source]
    print(f"verdict --rebuild: building {len(copies)} plugin copies at once ("
          + ", ".join(f"{c.role} {c.namespace}" for c in copies) + ")", flush=True)
    libs = build_all(copies, candidate_architectures(manifest))
    base_lib, aa_lib, cand_lib = libs
    wall["built"] = time.perf_counter()
    typed = config
    backend = get_backend("tensorrt", typed.timing.l2_flush)
    for copy, lib in zip(copies, libs):
        backend.load_library_of(op_spec, lib, copy.namespace)
    cand_ns = cand_source.namespace
    mapped = _mapped_libraries(libs)
    engines_dir = source.root / "engines"
    engines_dir.mkdir(parents=True, exist_ok=True)
    builder_cfg = builder_config(typed.builder)
    lib_sha = {c.namespace: sha256_file(lib) for c, lib in zip(copies, libs)}

    def engine(spec: EngineSpec, namespace: str, library: Path):  # noqa: ANN202
        key = spec_hash(spec.to_json(), namespace, lib_sha[namespace])
        path = engines_dir / f"{spec.operator}__{spec.dtype}__{spec.profile}__{key}.engine"
        if not path.is_file():
            facts = backend.build(spec, path, library, builder_cfg, plugin_namespace=namespace)
            write_build_record(path, spec, facts, plugin_namespace=namespace, plugin_library=str(library))
        return backend.load(path, library, plugin_namespace=namespace)

    rule = replace(StoppingRule.from_config(typed.timing), target_rse=typed.compare.target_rse, max_time_s=time_s)
    verify_max = typed.timing.verify_max_elements
    loaded = {}
    for sw in sweeps:
        spec = EngineSpec.from_json(sw.spec_json)
        cand_spec = replace(spec, kernel=options.kernel, kernel_table=()) if options.kernel else spec
        loaded[(spec.operator, spec.dtype, spec.profile)] = (engine(cand_spec, cand_ns, cand_lib),
                                                             engine(spec, source.namespace, base_lib),
                                                             engine(spec, aa_source.namespace, aa_lib), sw)
    wall["engines"] = time.perf_counter()
    states: dict[StateKey, InterleavedState] = {}

    def measure(keys: list[StateKey], budget: float) -> dict[StateKey, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        out = {}
        r = replace(rule, max_time_s=budget)
        t_start = time.perf_counter()
        with quiet_host(typed.timing.pin_cpu):
            for i, key in enumerate(keys, 1):
                op, dtype, profile, shape, mode = key
                a, b, c, _ = loaded[(op, dtype, profile)]
                dims = tuple(int(v) for v in shape.split("x"))
                # a wrong output of any is its state's FAIL (or reason), not the end of the run; the three
                # sampled a b a c each round: candidate, baseline, candidate, the baseline's second build
                trio = [State(e.spec.operator, dtype, profile, dims, mode, 0, seed=i, source=e) for e in (a, b, c)]
                t = measure_interleaved(trio, Plan(engine_timers(verify_max), r, raise_on_wrong=False),
                                        arena=backend.arena, pattern=AA_PATTERN)
                cand_us, base_us, control_us = (s * 1e6 for s in t.samples)
                st = states.setdefault(key, InterleavedState(key, math.prod(dims), backend.name))
                st.verified_candidate &= bool(t.checks[0].ok)
                st.verified_baseline &= bool(t.checks[1].ok) and bool(t.checks[2].ok)
                if throttled(t.before, t.after):
                    st.hot = "hot GPU: throttled during the interleaved round"
                out[key] = (cand_us, base_us, control_us)
                elapsed = time.perf_counter() - t_start
                print(f"[{time.strftime('%H:%M:%S')}] {i}/{len(keys)} {'/'.join(key)}: candidate "
                      f"{np.median(cand_us):.3f} us, baseline {np.median(base_us):.3f} us "
                      f"({np.median(cand_us) / np.median(base_us):.4f}), A/A second build "
                      f"{np.median(control_us) / np.median(base_us):.4f} (n {len(cand_us)}, {t.reason}); "
                      f"{elapsed:.0f} s, about {elapsed / i * (len(keys) - i):.0f} s left", flush=True)
        return out

    keys = [(EngineSpec.from_json(sw.spec_json).operator, EngineSpec.from_json(sw.spec_json).dtype,
             EngineSpec.from_json(sw.spec_json).profile, shape_str(shape), mode)
            for sw in sweeps for shape, mode in zip(sw.shapes, sw.modes)]
    t0 = time.perf_counter()
    for key, (cand, base, control) in measure(keys, time_s).items():
        states[key].add(cand, base, control)
    print(f"verdict --rebuild: {len(states)} states timed in {time.perf_counter() - t0:.0f} s; judging them "
          f"({settings.resamples} bootstrap resamples each)", flush=True)
    first, first_noisy = judge_interleaved(list(states.values()), settings)
    t_first = time.perf_counter()
    rows, noisy, done = remeasure(list(states.values()), first, measure, time_s, rounds, settings, first_noisy)
    for a, b, c, _ in loaded.values():
        a.close()
        b.close()
        c.close()
    written = write_interleaved_samples(source.root / "samples", list(states.values()),
                                        backend.device_info().device_name, "tensorrt")
    end = time.perf_counter()
    facts = {"states timed": f"{len(keys)} in {t_first - t0:.0f} s ({time_s:g} s each)",
             "re-measurement": f"{done} round(s) of at most {rounds} (AMBIGUOUS states straddling the band only, "
                               f"2x to {MAX_REMEASURE_FACTOR}x the time each, more the nearer the edge): "
                               f"{end - t_first:.0f} s",
             "first round": ", ".join(f"{v} {sum(r.verdict == v for r in first)}" for v in VERDICTS),
             "A/A control": f"a second, independent build of the baseline ({aa_source.namespace}, its own engines)",
             "wall time": f"{end - wall['start']:.0f} s (builds {wall['built'] - wall['start']:.0f} s, engines "
                          f"{wall['engines'] - wall['built']:.0f} s, timing {end - t0:.0f} s)",
             "raw samples": f"{len(written)} files under {source.root / 'samples'}",
             "libraries in this process": mapped}
    facts["candidate"] = (f"this checkout's plugin/ ({cand_source.sha[:12]}), built as the baseline is "
                          f"({cand_source.namespace})" + (f"; planted: {options.label}" if options.label else ""))
    device_json = Path(candidate_dir) / "tables" / "device.json"
    measured_with = json.loads(device_json.read_text()).get("plugin_source_hash", "") if device_json.is_file() else ""
    if measured_with and measured_with != plugin_source_hash(PROJECT_ROOT / "plugin"):
        facts["candidate"] += (f"; NOTE: plugin/ is not the source the candidate's tables were measured with "
                               f"({measured_with[:12]}): the verdict times plugin/ as it is now")
    return rows, noisy, facts


__all__ = ["STATE_KEYS", "CandidateOptions", "InterleavedState", "RebuildError", "RebuildSource", "cmake_commands", "first_supporting_commit",
           "judge_interleaved", "prepare_source", "prepared_source", "remeasure", "run_interleaved", "supports_rebuild"]


def verdict_rebuild(candidate_dir: Path, out_dir: Path, rev: str, config: TypedSettings | None, settings: Settings | None = None,
                    fail_on: str = "", mlflow_run: str | None = None, tracking_uri: str | None = None,
                    git_root: Path | None = None, modes: tuple[str, ...] = ("warm", "cold"), time_s: float = 0.5,
                    rounds: int | None = None, state_filter: str = "", prepare_only: bool = False,
                    rebuild_root: Path | None = None,
                    options: CandidateOptions | None = None) -> tuple[int, list[VerdictRow]]:
    """`tpb verdict --rebuild REV`: see the module docstring. Exit status as verdict.verdict's."""
    from .verdict import finish_verdict, load_run, parse_fail_on

    settings = settings or Settings()
    failing = parse_fail_on(fail_on)
    git_root = Path(git_root or PROJECT_ROOT)
    rebuild_root = Path(rebuild_root or git_root / REBUILD_ROOT)
    source = locate_source(rev, git_root, rebuild_root)
    print(f"verdict --rebuild {rev}: baseline source {source.sha[:12]} in {source.src} (namespace {source.namespace})")
    if prepare_only:
        return 0, []
    candidate = load_run(Path(candidate_dir))
    if candidate.device.get("backend") != "tensorrt":
        raise RebuildError(f"--rebuild: the candidate {candidate_dir} ran on the {candidate.device.get('backend')!r} "
                           "backend; the CPU reference backend has no plugin library to rebuild, so it keeps the "
                           "separate-run comparison (--no-rebuild, or leave --rebuild out)")
    if config is None:
        raise RebuildError("--rebuild times with the project's settings: give --config (config.yaml by default)")
    rounds = config.verdict.remeasure_rounds if rounds is None else int(rounds)
    t0 = time.perf_counter()
    options = options or CandidateOptions()
    rows, noisy, facts = run_interleaved(Path(candidate_dir), source, config, list(modes), time_s, rounds, settings,
                                         state_filter, options)
    names = {"baseline": f"plugin/ of {rev} ({source.sha[:12]}, rebuilt with suffix {source.suffix})",
             "candidate": f"plugin/ of this checkout, rebuilt as the baseline is, in the states of {candidate_dir}"
                          + (f" ({options.label})" if options.label else ""),
             "device_name": candidate.device.get("device_name", ""),
             "backend_label": candidate.device.get("backend_label", "tensorrt")}
    notes = ["interleaved: the libraries in one process, each state's candidate, baseline, candidate and the baseline's "
             "second, independent build (A/A) sampled in turn on shared buffers; the band's A/A term is this run's, so "
             "stable per-build offsets are in it; the candidate is built by the baseline's recipe, so identical sources "
             "differ only as the A/A copies do"]
    facts = {"only_baseline": 0, "only_candidate": 0, "facts": facts}
    result = finish_verdict(rows, facts, {"interleaved run": noisy}, notes, settings, Path(out_dir), failing, mlflow_run,
                          tracking_uri, names, f"rev:{source.sha}",
                          {"tpb.verdict.mode": "interleaved", "tpb.verdict.baseline_rev": source.sha,
                           "tpb.verdict.remeasure_rounds": str(rounds)})
    print(f"verdict --rebuild {rev}: wall time {time.perf_counter() - t0:.0f} s ({facts['facts']['wall time']})",
          flush=True)
    return result


def baseline_source_in_git(git_commit: str, git_root: Path) -> str | None:
    """The commit an MLflow baseline's tpb.git_commit names when it resolves here and supports the
    rebuild (the default interleaved mode), else None."""
    sha = (git_commit or "").removesuffix("-dirty")
    if not sha or sha == "unknown" or not is_git_checkout(git_root):
        return None
    try:
        full = resolve(sha, git_root)
    except RebuildError:
        return None
    shown = _git(["show", f"{full}:plugin/CMakeLists.txt"], git_root)
    return full if shown.returncode == 0 and supports_rebuild(shown.stdout) else None
