"""Typed settings: the validated config's sections as frozen dataclasses, parsed once.

config.validate_config checks a config against the schema and fills the schema's defaults; this
module turns the sections the measuring commands use into dataclasses, so nothing downstream
looks a key up with a default of its own (the schema is the one place defaults live; stats.
StoppingRule takes its defaults from there too). A rule hands its command the sections it uses
in one serialized form, ``Settings.to_json`` (the rule's params, so a change to them reruns it),
and the command reads them back with ``Settings.from_json``.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from .config import ConfigError, schema_defaults


def _section(cls: type, name: str, data: dict[str, Any]) -> Any:
    """``cls`` from ``data`` (a validated section): the schema's default for each key left out,
    and a clear error for a key the section does not have or one with no default."""
    defaults = schema_defaults(name)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"config section '{name}': unknown key(s) {', '.join(unknown)}; allowed keys: "
                          + ", ".join(sorted(known)))
    values = {**{k: v for k, v in defaults.items() if k in known}, **data}
    missing = sorted(known - set(values) - {f.name for f in fields(cls) if f.default is not MISSING})
    if missing:
        raise ConfigError(f"config section '{name}': missing key(s) {', '.join(missing)} (no schema default)")
    return cls(**values)


def _tuple(v: Any) -> Any:
    return tuple(_tuple(x) for x in v) if isinstance(v, (list, tuple)) else v


@dataclass(frozen=True)
class TimingSettings:
    """config timing: how every latency state is sampled (stats.StoppingRule) and checked."""

    modes: tuple[str, ...]
    pin_cpu: bool
    target_rse: float
    min_samples: int
    max_samples: int
    max_time_s: float
    warmup_min: int
    warmup_time_s: float
    repeats: int
    idle_visits: int
    l2_flush: str
    verify_max_elements: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "modes", _tuple(self.modes))


@dataclass(frozen=True)
class ThreadSettings:
    """config threads: the thread sweep (Python loop and native runner)."""

    counts: tuple[int, ...]
    iterations: int
    native_iterations: int
    native_graph_batch: int
    native_time_every: int
    native_min_wall_s: float
    profile: str | None = None
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", _tuple(self.counts))
        object.__setattr__(self, "shape", _tuple(self.shape) if self.shape is not None else None)


@dataclass(frozen=True)
class ReferenceSettings:
    """config reference: the CPU reference backend's quick default and its full sweep."""

    full: bool
    max_elements: int
    max_time_s: float
    thread_iterations: int
    full_max_elements: int
    extra_work: int

    @property
    def limit(self) -> tuple[str, int]:
        """The size limit in force: (its config key, elements)."""
        key = "full_max_elements" if self.full else "max_elements"
        return f"reference.{key}", getattr(self, key)


@dataclass(frozen=True)
class CompareSettings:
    """config compare: the interleaved plugin-vs-native comparison."""

    enabled: bool
    target_rse: float
    max_time_s: float
    pairs: tuple[tuple[str, str], ...]
    mode: str
    extra_shapes: dict[str, tuple[tuple[int, ...], ...]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", _tuple(self.pairs))
        object.__setattr__(self, "extra_shapes", {k: _tuple(v) for k, v in dict(self.extra_shapes).items()})


SECTIONS: dict[str, type] = {"timing": TimingSettings, "threads": ThreadSettings, "reference": ReferenceSettings,
                             "compare": CompareSettings}


@dataclass(frozen=True)
class Settings:
    """The typed sections a command uses (None: not handed to it)."""

    timing: TimingSettings | None = None
    threads: ThreadSettings | None = None
    reference: ReferenceSettings | None = None
    compare: CompareSettings | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any], sections: tuple[str, ...] = tuple(SECTIONS)) -> Settings:
        """The typed ``sections`` of a validated config (a section it lacks: all schema defaults)."""
        return cls(**{name: _section(SECTIONS[name], name, dict(config.get(name) or {})) for name in sections})

    def to_json(self) -> str:
        """The one serialized form a command receives (sorted keys: a rule's params compare equal)."""
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text or "{}")
        return cls(**{name: _section(SECTIONS[name], name, data[name]) for name in SECTIONS if name in data})

    def need(self, name: str) -> Any:
        """Section ``name``, or a clear error naming the rule param that should have carried it."""
        value = getattr(self, name)
        if value is None:
            raise ConfigError(f"this command needs the config section '{name}', which its --config-json lacks "
                              "(the rule's params: see workflow/rules/)")
        return value
