"""The local MLflow store (a sqlite file such as ./mlflow.db): created atomically, checked before use.

- Created atomically: MLflow builds a new sqlite store in place (its tables, then some forty schema
  migrations), so a Ctrl-C during the first log leaves a half-migrated file that every later run
  refuses ("table _alembic_tmp_metrics already exists"). ``ensure_sqlite_store`` lets MLflow build
  it in a temporary file beside it and links it into place only when complete.
- Checked: an existing file must be an SQLite database (its header), pass ``pragma quick_check``, and
  hold an MLflow schema at the revision this MLflow expects (``alembic_version``, no table a
  migration left behind). Anything else is a ``SqliteStoreError`` of one line naming the file and
  the remedy, never a sqlalchemy traceback.
- Written safely beside another writer: ``log_record`` puts tags and metrics on a run that another process
  may be writing the same record on (two DAGs' rules on one shared parent run), retrying a collision.
- Noticed when gone: ``stale_log_marker`` tells the Snakefile that the log rule's marker
  (results/mlflow/logged.json) speaks of a sqlite store that no longer exists, so the marker goes
  and the log rule logs what is on disk again.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

SQLITE_PREFIX = "sqlite:///"
SQLITE_HEADER = b"SQLite format 3\x00"
# a table alembic makes while it rebuilds one in a migration: present only when one was interrupted
ALEMBIC_TMP_PREFIX = "_alembic_tmp_"


class SqliteStoreError(RuntimeError):
    """The sqlite file cannot be used as this MLflow's store; the message names it and the remedy."""


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` tracking URI (None for any other store)."""
    return Path(uri[len(SQLITE_PREFIX):]) if uri.startswith(SQLITE_PREFIX) else None


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]


def _head_revision() -> str:
    from mlflow.store.db.utils import _get_latest_schema_revision

    return str(_get_latest_schema_revision())


def _runs(conn: sqlite3.Connection, tables: list[str]) -> str:
    if "runs" not in tables:
        return "no runs table"
    with contextlib.suppress(sqlite3.Error):
        return f"{conn.execute('select count(*) from runs').fetchone()[0]} run(s) in it"
    return "its runs unreadable"


def check_sqlite_store(path: Path, timeout_s: float = 5.0) -> None:
    """Raise SqliteStoreError unless ``path`` is absent, empty, or a complete MLflow store of this
    MLflow's schema that passes ``pragma quick_check``."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return
    delete = f"move {path} aside (or delete it) and re-run: the next log creates a new store"
    with path.open("rb") as f:
        if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise SqliteStoreError(f"{path} is not an SQLite database (not an MLflow store); {delete}")
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=timeout_s)) as conn:
            found = [r[0] for r in conn.execute("pragma quick_check").fetchall()]
            if found != ["ok"]:
                raise SqliteStoreError(f"{path} is a damaged SQLite database (pragma quick_check: "
                                       f"{'; '.join(str(x) for x in found[:3])}); {delete}")
            tables = _tables(conn)
            if not tables:
                return  # an empty database: MLflow makes its tables (ensure_sqlite_store does, atomically)
            leftover = [t for t in tables if t.startswith(ALEMBIC_TMP_PREFIX)]
            revision = (conn.execute("select version_num from alembic_version").fetchall()
                        if "alembic_version" in tables else [])
            runs = _runs(conn, tables)
    except sqlite3.Error as exc:
        raise SqliteStoreError(f"{path} cannot be read as an SQLite database ({exc}); {delete}") from exc
    if leftover or not revision:
        raise SqliteStoreError(
            f"{path} is a half-created MLflow store ({runs}; "
            f"{'a schema migration was interrupted: ' + ', '.join(leftover) if leftover else 'no alembic_version'}): "
            f"an interrupted first log (Ctrl-C) leaves it so; {delete}")
    head = _head_revision()
    if revision[0][0] != head:
        raise SqliteStoreError(
            f"{path} has MLflow schema revision {revision[0][0]}, this MLflow wants {head} ({runs}): a first log "
            f"interrupted mid-migration leaves it so ({delete}); a store of an older MLflow is upgraded with "
            f"`mlflow db upgrade {SQLITE_PREFIX}{path}` (back it up first)")


def _is_blank(path: Path, timeout_s: float) -> bool:
    """Absent, empty, or an SQLite database without a table: no store yet."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with contextlib.closing(sqlite3.connect(path, timeout=timeout_s)) as conn:
        return not _tables(conn)


def ensure_sqlite_store(path: Path, timeout_s: float = 5.0) -> bool:
    """Make ``path`` a complete MLflow store: check an existing one (check_sqlite_store), or let
    MLflow create one in a temporary file in the same folder and link it into place when complete,
    so an interruption leaves no store (a ``.<name>.creating-*`` file at most), never half of one.
    True when it created the store."""
    path = Path(path)
    check_sqlite_store(path, timeout_s)
    if not _is_blank(path, timeout_s):
        return False
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.creating-", suffix=".db", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=f"{SQLITE_PREFIX}{tmp}").search_experiments(max_results=1)
        check_sqlite_store(tmp, timeout_s)
        if path.exists():
            if not _is_blank(path, timeout_s):  # another process completed one meanwhile
                return False
            os.replace(tmp, path)  # an empty file or database is no store: the complete one replaces it
            return True
        try:
            os.link(tmp, path)  # never over a store another process completed meanwhile
        except FileExistsError:
            check_sqlite_store(path, timeout_s)
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def stale_log_marker(marker: Path, uri: str) -> str | None:
    """Why the log rule's ``marker`` no longer tells the truth, or None: it exists, but the sqlite
    store ``uri`` it would have logged to does not (deleted or moved away), so nothing is logged there."""
    path = sqlite_path(uri)
    if path is None or not Path(marker).exists() or path.exists():
        return None
    return f"the MLflow store {path} does not exist: what {marker} says was logged is logged again"



# Two processes may write one record on one run at once: the verdict rules of two DAGs that logged the same
# measurements (one parent run: tracking._claim_parent), two parents reusing one child run. MLflow's set_tag
# inserts a new tag without retrying, and two inserts of one key in a tracking server's SQL store collide
# (UniqueViolation, HTTP 400: 5 of 16 processes failed, two at a time on one run, on the cluster harness's
# PostgreSQL, 2026-12-07). So a record goes as one log_batch (MLflow retries a colliding tag insert there, and
# splits the batch to its limits) with the caller's timestamps, and is written again after a collision.
RECORD_TRIES = 6
RECORD_BACKOFF_S = 0.5
COLLISION_MARKS = ("UniqueViolation", "duplicate key", "UNIQUE constraint", "Failed to set tags")


def collided(exc: Exception) -> bool:
    """A concurrent writer's insert of the same key won (any other error is not retried)."""
    return any(mark in str(exc) for mark in COLLISION_MARKS)


def log_record(client: Any, run_id: str, tags: list | None = None, metrics: list | None = None,
               tries: int = RECORD_TRIES, who: str = "log_record") -> None:
    """``tags`` (RunTag) and ``metrics`` (Metric) on ``run_id`` in one log_batch, written again, up to ``tries``
    times, when another process writing on the run collided with it. The record must be the same whoever writes
    it (a retry writes it again)."""
    for attempt in range(1, tries + 1):
        try:
            client.log_batch(run_id, metrics=metrics or [], tags=tags or [])
            return
        except Exception as exc:
            if attempt == tries or not collided(exc):
                raise
            print(f"{who}: another process wrote on run {run_id} at the same time ({type(exc).__name__}); "
                  f"writing the record again ({attempt + 1} of {tries})")
            time.sleep(RECORD_BACKOFF_S * attempt * (1 + random.random()))


__all__ = ["RECORD_TRIES", "SqliteStoreError", "check_sqlite_store", "collided", "ensure_sqlite_store", "log_record",
           "sqlite_path", "stale_log_marker"]
