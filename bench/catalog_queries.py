"""The catalog's list queries at scale: do the list, the in-flight list, favorites and search use their indexes?

    scripts/services.sh start postgres
    .venv/bin/python bench/catalog_queries.py [--videos 200000] [--users 2000] [--samples 300] [--keep]

Creates its own database (nexus_bench_catalog) on the PostgreSQL that scripts/services.sh runs (port 55432),
migrates it with the catalog's Alembic history (so the indexes are exactly the migrations'), fills it with
COPY: videos across users with a skewed share (one person owns ~2 %, the median about 70), 2 % in flight,
5 % favorites, a scenario (JSONB) with a title and four scenes of narration per video, in real English
(WordNet's noun definitions, so that trigrams are as selective as in real text). Then, for each query the API runs
(built by nexus_core.catalog.queries.list_filters, ordered and limited as api.videos.list_videos), it prints
the EXPLAIN (ANALYZE, BUFFERS) plan for the heaviest user and p50/p99 latencies over many users.

Nothing is asserted: it is a measurement. The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from sqlalchemy import Connection, Select, create_engine, func, select, text  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from nexus_core.catalog import Catalog  # noqa: E402
from nexus_core.catalog.engine import normalize_url  # noqa: E402
from nexus_core.catalog.queries import list_filters, search_terms  # noqa: E402
from nexus_core.catalog.tables import videos  # noqa: E402

SERVER = "postgresql+psycopg2://postgres@127.0.0.1:55432/postgres"
DATABASE = "nexus_bench_catalog"
STATUSES = (("COMPLETED", 0.92), ("FAILED", 0.04), ("CANCELLED", 0.02), ("QUEUED", 0.01), ("PROCESSING", 0.01))
TOPICS = ("black hole", "volcano", "coral reef", "sleep", "photosynthesis", "rainforest", "glacier", "honeybee",
          "printing press", "solar eclipse", "octopus", "tectonic plate", "vaccine", "lighthouse", "comet",
          "desert bloom", "monsoon", "quantum", "pyramid", "northern lights")
LIGHTING = ("natural", "golden hour", "overcast", "studio", "night", "candlelight")
RARE_LIGHTING = "neon"  # 1 scene in 300: what the scenario containment query looks for
ANGLES = ("wide", "close-up", "medium", "aerial", "low-angle", "tracking")
COLUMNS = ("id", "user_id", "request", "status", "phase", "percent", "artifacts", "phase_seconds", "created_at",
           "updated_at", "title", "scenario", "search_text", "favorited_at")


WORDNET_NOUNS = Path("/usr/share/wordnet/data.noun")  # Debian's wordnet-base (scripts/bootstrap.sh installs it)


def _english(rng: random.Random) -> list[tuple[str, str]]:
    """(noun, definition) pairs: real English for titles and narration, so trigrams are as selective as in
    real text (WordNet 3.0's noun glosses); a made-up vocabulary when WordNet is not installed."""
    if WORDNET_NOUNS.is_file():
        pairs = []
        for line in WORDNET_NOUNS.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(" ") or " | " not in line:
                continue
            fields, gloss = line.split(" | ", 1)
            pairs.append((fields.split()[4].replace("_", " "), gloss.split(";")[0].strip()))
        return pairs
    syllables = ["ka", "lo", "mi", "ra", "ten", "sor", "vel", "an", "tri", "mo", "ul", "pe", "dra", "quin", "zo"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(20000)]
    return [(words[i], " ".join(rng.choices(words, k=12))) for i in range(len(words))]


def _owner_of(rng: random.Random, users: int) -> int:
    """Skewed: user 0 owns ~2 % of all videos, the median user about half the mean."""
    return int(users * rng.random() ** 2)


def _rows(count: int, users: int, seed: int) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    rng = random.Random(seed)
    english = _english(rng)
    # Zipf over the nouns (cumulative weights, computed once: choices() is then O(log n)): some subjects
    # come up often, most rarely.
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(english))))
    order = rng.sample(range(len(english)), len(english))
    now = datetime(2026, 1, 20, tzinfo=UTC)
    rows: list[tuple[Any, ...]] = []
    for n in range(count):
        topic = rng.choice(TOPICS)
        picked = [english[order[i]] for i in rng.choices(range(len(english)), cum_weights=cumulative, k=4)]
        title = f"{topic.title()} and the {picked[0][0]}"
        scenes = [{"scene_number": s + 1, "duration_seconds": 6.0, "description": f"{topic} scene {s + 1}",
                   "visual_elements": [topic], "camera_angle": rng.choice(ANGLES),
                   "lighting": RARE_LIGHTING if rng.random() < 1 / 300 else rng.choice(LIGHTING),
                   "dialogue": f"{name.capitalize()}: {gloss}."} for s, (name, gloss) in enumerate(picked)]
        scenario = {"title": title, "scenes": scenes}
        status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
        created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        favorite = created + timedelta(hours=1) if rng.random() < 0.05 else None
        search = "\n".join([title, *(s["dialogue"] for s in scenes)]).casefold()
        request = {"prompt": f"A video about {topic}", "duration_seconds": 30, "quality": "HD", "resolution": "720p"}
        rows.append((f"v{n:07d}", f"user-{_owner_of(rng, users):05d}", json.dumps(request), status,
                     None if status == "QUEUED" else "encode", 100.0 if status == "COMPLETED" else 40.0, "{}", "{}",
                     created.isoformat(), created.isoformat(), title[:200], json.dumps(scenario), search,
                     favorite.isoformat() if favorite else None))
    return rows, english


def _word_with_share(rows: Sequence[tuple[Any, ...]], share: float) -> str:
    """A word (5+ letters) of the narration found in about `share` of the videos (counted on a sample)."""
    sample = rows[:: max(1, len(rows) // 5000)]
    counts: dict[str, int] = {}
    for row in sample:
        for word in set(re.findall(r"[a-z]{5,}", row[12].split("\n", 1)[1])):  # the narration only
            counts[word] = counts.get(word, 0) + 1
    return min(sorted(counts), key=lambda w: abs(counts[w] / len(sample) - share))


def fill(conn: Connection, rows: Sequence[tuple[Any, ...]], chunk: int = 20000) -> None:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in rows[start:start + chunk]:
                writer.writerow(["\\N" if v is None else v for v in row])
            buffer.seek(0)
            cursor.copy_expert(f"COPY videos ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


def _page(*filters: Any, user: str | None) -> Select[Any]:
    """The API's list query shape: newest first, one page (+1 to know if there is a next)."""
    query = select(videos).order_by(videos.c.created_at.desc(), videos.c.id.desc()).limit(21)
    if user is not None:
        query = query.where(videos.c.user_id == user)
    return query.where(*filters)


def _sql(query: Select[Any]) -> str:
    """The statement with its values inlined (named paramstyle: a LIKE's % stays single), run without parameters."""
    return str(query.compile(dialect=postgresql.dialect(paramstyle="named"), compile_kwargs={"literal_binds": True}))


def _run(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    """Straight to psycopg2 without parameters, so the SQL is sent as compiled."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def _explain(conn: Connection, sql: str) -> list[str]:
    return [row[0] for row in _run(conn, f"EXPLAIN (ANALYZE, BUFFERS) {sql}")]


def _timed(conn: Connection, sqls: Sequence[str]) -> tuple[float, float]:
    times = []
    for sql in sqls:
        start = time.perf_counter()
        _run(conn, sql)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=SERVER, help="An admin URL of the PostgreSQL server.")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--videos", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--samples", type=int, default=300, help="Queries timed per kind (different users).")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args(argv)

    server = normalize_url(args.server)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{args.database}"'))
    url = server.set(database=args.database).render_as_string(hide_password=False)
    try:
        with Catalog(url) as catalog:  # migrates to head: the indexes under test are the migrations' own
            started = time.perf_counter()
            rows, _english_pairs = _rows(args.videos, args.users, seed=7)
            made = time.perf_counter()
            with catalog.engine.begin() as conn:
                fill(conn, rows)
            filled = time.perf_counter()
            with catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE videos"))
            print(f"{args.videos} videos, {args.users} users: generated in {made - started:.1f} s, "
                  f"COPY in {filled - made:.1f} s, VACUUM ANALYZE in {time.perf_counter() - filled:.1f} s")
            _measure(catalog, rows, args.samples)
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
        admin.dispose()


def _measure(catalog: Catalog, rows: Sequence[tuple[Any, ...]], samples: int) -> None:
    rng = random.Random(11)
    owners: dict[str, int] = {}
    for row in rows:
        owners[row[1]] = owners.get(row[1], 0) + 1
    heaviest = max(owners, key=lambda u: owners[u])
    counts = sorted(owners.values())
    users = rng.choices(sorted(owners), k=samples)
    # Search words: a common narration word (in ~5 % of videos), a rare one (~0.2 %), a topic from titles.
    common, rare = _word_with_share(rows, 0.05), _word_with_share(rows, 0.002)

    def search(query: str) -> Any:
        return list_filters(terms=search_terms(query))

    with catalog.engine.connect() as conn:
        sizes = {name: conn.scalar(text(f"SELECT pg_size_pretty(pg_relation_size('{name}'))"))
                 for name in ("videos", "ix_videos_user_id_created_at", "ix_videos_in_flight", "ix_videos_favorites",
                              "ix_videos_scenario", "ix_videos_search_text")}
        print(f"videos per user: median {statistics.median(counts):.0f}, max {counts[-1]} ({heaviest}); sizes: "
              + ", ".join(f"{k} {v}" for k, v in sizes.items()))
        for word in (common, rare, "volcano"):
            matches = conn.scalar(select(func.count()).select_from(videos).where(*search(word)))
            print(f"q={word!r} matches {matches} videos of {len(rows)}")
        kinds: dict[str, Any] = {
            "list": lambda u: _page(user=u),
            "in flight": lambda u: _page(*list_filters(in_flight_only=True), user=u),
            "favorites": lambda u: _page(*list_filters(favorite=True), user=u),
            f"search q={common!r} (common word)": lambda u: _page(*search(common), user=u),
            f"search q={rare!r} (rare word)": lambda u: _page(*search(rare), user=u),
            f"search q='volcano {common}'": lambda u: _page(*search(f"volcano {common}"), user=u),
            f"search q={rare!r}, all users": lambda _u: _page(*search(rare), user=None),
        }
        for name, build in kinds.items():
            sql = _sql(build(heaviest))
            print(f"\n=== {name}  (plan for {heaviest}, {owners[heaviest]} videos)")
            for line in _explain(conn, sql):
                print("   ", line)
            p50, p99 = _timed(conn, [_sql(build(u)) for u in users])
            print(f"    latency over {samples} users: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        contains = ("SELECT id FROM videos WHERE scenario @> "
                    f"'{{\"scenes\": [{{\"lighting\": \"{RARE_LIGHTING}\"}}]}}'::jsonb LIMIT 100")
        print("\n=== scenario containment (GIN jsonb_path_ops), all users")
        for line in _explain(conn, contains):
            print("   ", line)
        p50, p99 = _timed(conn, [contains] * min(samples, 50))
        print(f"    latency: p50 {p50:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
