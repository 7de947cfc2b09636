"""Where a list request's CPU goes (issue 20, item 1): py-spy samples of (a) the in-process matcher for both
directions and (b) one server worker under a closed loop, summarized as the top functions by own and cumulative
share of the samples (the tables of ``bench/PROFILE.md``).

    python -m bench.request_profile --scale 0.1 --out bench/out/profile      # needs py-spy (dev extras)

The raw collapsed stacks (``*.txt``, py-spy's ``--format raw``) stay in ``--out`` for a flame graph
(e.g. speedscope.app reads them). Idle samples (a worker waiting for a request) are left out by py-spy.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench import data, inprocess
from bench.http_load import closed_loop
from bench.request_cpu import OUT, CodeServer, list_paths, serving
from recsys.core.vocab import DIRECTIONS, Direction

_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_REPO_FILE = re.compile(r"^/.*?/(bench|features|models|recsys|serving)/")  # a checkout's path -> repo-relative


def frame_name(frame: str) -> str:
    """``file.py:function`` for one py-spy frame ``function (path/file.py:line)``; the path shortened to the part
    after site-packages or the repository."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"].split("site-packages/")[-1]
    path = _REPO_FILE.sub(r"\1/", path)
    return f"{path}:{match['fn']}"


_IDLE = ("threading.py:Condition.wait", "selectors.py:EpollSelector.select")  # waits py-spy may count as active
_WRAPPERS = (
    "<frozen",
    "typer/",
    "uvicorn/",
    "asyncio/",
    "starlette/",
    "fastapi/",
    "anyio/",
    "threading.py",
    "bench/",
    "recsys/__main__",
    "recsys/app/cli/",
)


def summarize(raw: Path, top: int = 25) -> str:
    """Markdown tables of the top functions by own samples (the innermost frame) and by cumulative samples (any
    frame of the stack; the framework's wrappers left out of that table), in percent of all non-idle samples.
    Samples ending in a thread pool's or an event loop's wait are idle time and left out."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread ")]
        if not frames or frames[-1] in _IDLE:
            continue
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            if not name.startswith(_WRAPPERS):
                cumulative[name] += n
    lines = [f"{total} samples", "", "| own % | function |", "|---:|---|"]
    lines += [f"| {100 * n / total:.1f} | `{name}` |" for name, n in own.most_common(top)]
    lines += ["", "| cumulative % | function (framework wrappers left out) |", "|---:|---|"]
    lines += [f"| {100 * n / total:.1f} | `{name}` |" for name, n in cumulative.most_common(top)]
    return "\n".join(lines)


STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "views + JSON (items, serialization)",
        (
            "serving/views.py:product_item",
            "serving/views.py:creator_item",
            "serving/views.py:product_items",
            "serving/views.py:creator_items",
            "serving/views.py:list_response",
            "fastapi/routing.py:serialize_response",
            "pydantic/main.py:BaseModel.__init__",
        ),
    ),
    ("page: distribution model, contributions, reasons", ("models/matching/page.py:PageExplainer.explain",)),
    (
        "page: columns, figures, Recommendation objects",
        (
            "models/matching/matcher.py:Matcher._page",
            "models/matching/recommendation.py:page_figures",
            "models/matching/recommendation.py:page_recommendations",
        ),
    ),
    (
        "outcomes (GMV model, money) + rerank",
        ("models/matching/outcomes.py:OutcomePredictor.predict", "models/matching/rerank.py:in_blocks"),
    ),
    ("scoring: feature gathering", ("features/tables.py:FeatureTables.vectors",)),
    ("scoring: compiled ranker", ("models/gbm/ranker.py:LambdaRanker.predict",)),
    ("candidates: FAISS", ("models/retrieval/retriever.py:Retriever.candidates",)),
    ("candidates: plan resolution", ("models/matching/candidates.py:CandidateFinder._resolve",)),
    (
        "joinable / filters / rest of the matcher",
        (
            "models/matching/matcher.py:Matcher.recommend_products",
            "models/matching/matcher.py:Matcher.recommend_creators",
        ),
    ),
    ("FastAPI dependencies (auth, params, state)", ("fastapi/dependencies/utils.py:solve_dependencies",)),
)


def by_stage(raw: Path) -> dict[str, float]:
    """Percent of non-idle samples per request stage: each sample in the first of :data:`STAGES` its stack passes
    through, else in "HTTP server, event loop, middleware (rest)"."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = {frame_name(f) for f in stack.split(";")}
        if not stack or not count.isdigit() or frame_name(stack.split(";")[-1]) in _IDLE:
            continue
        stage = next((name for name, keys in STAGES if frames.intersection(keys)), "HTTP server, event loop, rest")
        counts[stage] += int(count)
    total = sum(counts.values()) or 1
    return {name: 100 * counts[name] / total for name in [*(n for n, _ in STAGES), "HTTP server, event loop, rest"]}


def _loop(scale: float, direction: Direction, seconds: float) -> None:
    """The profiled process of (a): the matcher answering top-50 lists for ``seconds``."""
    ws = data.workspaces(OUT, scale)[0]
    os.environ.update({k: v for k, v in ws.env.items() if k.startswith("RECSYS_")})
    from recsys.core.config import Settings
    from serving.state import open_matcher_state

    matcher = open_matcher_state(Settings()).matcher
    ids = direction.select(matcher.engine.tables.creators, matcher.engine.tables.products)
    names = [ids.id(int(r)) for r in inprocess.query_rows(matcher, direction, 200, seed=3)]
    print("ready", flush=True)
    deadline, i = time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        matcher.recommend(direction, names[i % len(names)], inprocess.TOP)
        i += 1


def profile_in_process(scale: float, out: Path, seconds: float, py_spy: str) -> dict[str, Path]:
    """(a): py-spy attached to a process that loops the matcher, once per direction (start-up not sampled)."""
    raws = {}
    for d in DIRECTIONS:
        cmd = [sys.executable, "-m", "bench.request_profile", "--loop", str(d), "--scale", str(scale)]
        cmd += ["--seconds", str(seconds)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        while proc.stdout.readline().strip() != "ready":
            if proc.poll() is not None:
                raise RuntimeError("the matcher loop did not start")
        raws[f"in-process matcher ({d})"] = raw = out / f"inprocess-{d}.txt"
        spy = [py_spy, "record", "--format", "raw", "--rate", "200", "-o", str(raw), "--pid", str(proc.pid)]
        subprocess.run([*spy, "--duration", str(int(seconds) - 2)], check=True, capture_output=True)
        proc.wait()
    return raws


def profile_server(scale: float, out: Path, requests: int, py_spy: str, port: int) -> dict[str, Path]:
    """(b): py-spy attached to one server worker while one connection asks both directions' lists in turn."""
    ws = data.workspaces(OUT, scale)[0]
    os.environ.update({k: v for k, v in ws.env.items() if k.startswith("RECSYS_")})
    from recsys.core.config import Settings
    from serving.state import open_matcher_state

    matcher = open_matcher_state(Settings()).matcher
    paths = {d: list_paths(matcher, d, inprocess.query_rows(matcher, d, 200, seed=3)) for d in DIRECTIONS}
    del matcher
    mixed = [p for pair in zip(paths[DIRECTIONS[0]], paths[DIRECTIONS[1]], strict=False) for p in pair]
    raw = out / "server.txt"
    with serving(ws, CodeServer("profiled", Path.cwd(), port)) as server:
        headers = {"X-API-Key": server.key}
        closed_loop("127.0.0.1", port, headers, mixed, 1, 100)
        spy = subprocess.Popen(
            [py_spy, "record", "--format", "raw", "--rate", "200", "-o", str(raw), "--pid", str(server.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
        closed_loop("127.0.0.1", port, headers, mixed, 1, requests, limit_s=300)
        spy.send_signal(2)  # SIGINT: py-spy writes its file and exits
        spy.wait(timeout=60)
    return {"HTTP server, one worker, closed loop, both directions": raw}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--out", type=Path, default=OUT / "profile")
    parser.add_argument("--seconds", type=float, default=30, help="in-process sampling time per direction")
    parser.add_argument("--requests", type=int, default=2000, help="HTTP requests sampled")
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--loop", choices=[str(d) for d in DIRECTIONS], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        _loop(args.scale, Direction(args.loop), args.seconds)
        return
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    args.out.mkdir(parents=True, exist_ok=True)
    raws = profile_in_process(args.scale, args.out, args.seconds, py_spy)
    raws |= profile_server(args.scale, args.out, args.requests, py_spy, args.port)
    for title, raw in raws.items():
        stages = "\n".join(f"| {name} | {share:.1f} |" for name, share in by_stage(raw).items())
        print(f"\n### {title}\n\n| stage | % |\n|---|---:|\n{stages}\n\n{summarize(raw)}\n")


if __name__ == "__main__":
    main()
