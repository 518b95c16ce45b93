"""Server bench: this project's server and minimal reference apps, side by side on loopback under wrk.

Run it from the checkout, after `make test` (or any install of the project with its test extra):

    .venv/bin/python bench/server.py                 # 3 s per scenario, wrk -t1 -c16
    .venv/bin/python bench/server.py --seconds 5 --connections 32
    .venv/bin/python bench/server.py --seconds 5 --rounds 3      # best of 3 interleaved: a shared machine
    .venv/bin/python bench/server.py --agents-python /path/to/venv/bin/python
    .venv/bin/python bench/server.py --only bolt,project --baseline /tmp/main   # before/after, one run
    .venv/bin/python bench/server.py --only project+sqlite,baseline --baseline /tmp/a --baseline-store sqlite
    .venv/bin/python bench/server.py --together --rounds 5   # the store off and on at once: a noisy machine

It needs `wrk` (Debian: `apt-get install -y wrk`). Every server runs in its own process on 127.0.0.1, on
the machine's first core; wrk and the fake services run on the others:

- bare:       an aiohttp handler answering 200, the ceiling for any aiohttp app on this machine;
- bolt:       a minimal Bolt app (AsyncApp with a token and a signing secret, as its README shows) that acks
              the signed /nhsmail slash command and answers an app_mention with say();
- botbuilder: the minimal botbuilder echo bot (CloudAdapter, local mode: no app id), its reply POSTed to a
              local fake Bot Connector;
- agents:     the Microsoft 365 Agents SDK's minimal echo agent (microsoft-agents-hosting-aiohttp, anonymous),
              in a throwaway venv of its own (created under the system temp folder on first use, or given
              with --agents-python); never a dependency of this project; skipped with the reason if it does
              not install;
- project:    `nhsmail-bot serve` (local mode for Teams, Slack over HTTP), with SLACK_API_URL and the
              activities' serviceUrl pointed at the fake services, at its default log level, its store in
              memory (DATABASE_URL=memory:); project+sqlite and project+postgres the same with the store on
              a SQLite file and on a PostgreSQL database of the bench's own (--postgres; skipped if none).

The fake Slack Web API, response_url host and Bot Connector run in a process of their own and count the
answers actually delivered; the project's slash command answers in its acknowledgement, which wrk counts.
Every request carries a unique event id, slash-command response_url, or activity and conversation id, so
"delivered" counts answers, not retries. Printed per scenario: requests per second,
p50 and p99 latency, errors (socket errors and non-2xx answers), the server's CPU milliseconds per request
(user + system, from /proc/PID/stat, over the run and the settling after it), and delivered/sent. "sent" is
what wrk issued; up to --connections of them may still be in flight when wrk stops. Then the project's
figures as ratios of each reference's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # made up, as in Slack's documentation
BOT_TOKEN = "xoxb-bench"
QUESTION = "I've forgotten my NHSmail password"
REQUESTS_PER_FILE = 30_000  # more than any target answers in a few seconds: ids never repeat
AGENTS_PACKAGE = "microsoft-agents-hosting-aiohttp"

WRK_SCRIPT = r"""
reqs, n, i, acked = {}, 0, 0, 0  -- globals: done() reads them with thread:get
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  for r in string.gmatch(data, "([^%z]+)") do n = n + 1; reqs[n] = r end
end
function request()
  i = i + 1
  return reqs[((i - 1) % n) + 1]
end
-- an answer in the acknowledgement itself (a slash command's): a message's blocks
function response(status, headers, body)
  if status == 200 and string.find(body, '"blocks"', 1, true) then acked = acked + 1 end
end
function done(summary, latency, requests)
  local issued, loaded, answered = 0, 0, 0
  for _, t in ipairs(threads) do
    issued = issued + t:get("i"); loaded = loaded + t:get("n"); answered = answered + t:get("acked")
  end
  local e = summary.errors
  io.write(string.format(
    '{"completed": %d, "issued": %d, "loaded": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": %d, "status_errors": %d, "acked": %d}\n',
    summary.requests, issued, loaded, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, answered))
end
"""


# ---------------------------------------------------------------- the fake services (their own process)


class Fakes:
    """Slack Web API (/api/METHOD), response_urls (/response/ID) and the Bot Connector (/v3/...): each answer
    delivered is counted once by its unique key."""

    def __init__(self) -> None:
        self.delivered: set[str] = set()
        self.calls = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/api/{method}", self.web_api)
        app.router.add_post("/response/{id}", self.response_url)
        app.router.add_post("/v3/conversations/{conversation}/activities", self.connector)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self.connector)
        app.router.add_get("/stats", self.stats)
        app.router.add_post("/reset", self.reset)
        return app

    async def web_api(self, request: web.Request) -> web.Response:
        self.calls += 1
        method = request.match_info["method"]
        if method == "auth.test":
            identity = {"team_id": "T0BENCH", "user_id": "UBOT", "bot_id": "BBOT", "user": "bot"}
            return web.json_response(
                {"ok": True, "team": "Bench", "url": "https://bench.slack.com/", **identity}
            )
        if method == "chat.postMessage":
            raw = await request.read()
            json_body = request.content_type == "application/json"
            body = json.loads(raw) if json_body else dict(parse_qsl(raw.decode()))
            self.delivered.add(f"slack:{body.get('channel')}")
            return web.json_response({"ok": True, "channel": body.get("channel"), "ts": "1700000000.000100"})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def response_url(self, request: web.Request) -> web.Response:
        self.calls += 1
        await request.read()
        self.delivered.add(f"response:{request.match_info['id']}")
        return web.Response(text="ok")

    async def connector(self, request: web.Request) -> web.Response:
        self.calls += 1
        await request.read()
        self.delivered.add(f"teams:{request.match_info['conversation']}")
        return web.json_response({"id": "reply"})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"delivered": len(self.delivered), "calls": self.calls})

    async def reset(self, request: web.Request) -> web.Response:
        self.delivered.clear()
        self.calls = 0
        return web.json_response({})


# ---------------------------------------------------------------- the reference apps (their own processes)


def bare_app(fake: str) -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", ok)
    return app


def bolt_app(fake: str) -> web.Application:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    # as Bolt's README has it; the client only so that the Web API is the fake one
    app = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=f"{fake}/api/"), signing_secret=SECRET)

    @app.command("/nhsmail")
    async def command(ack: Any) -> None:
        await ack()

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: Any) -> None:
        await say(f"You said: {event['text']}")

    return app.web_app(path="/slack/events")


def botbuilder_app(fake: str) -> web.Application:
    from botbuilder.core import ActivityHandler, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    class Config:
        APP_ID = ""
        APP_PASSWORD = ""
        APP_TYPE = "MultiTenant"
        APP_TENANTID = ""

    class EchoBot(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(f"Echo: {turn_context.activity.text}")

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    return app


def agents_app(fake: str) -> web.Application:
    from microsoft_agents.hosting.aiohttp import (
        CloudAdapter,
        jwt_authorization_middleware,
        start_agent_process,
    )
    from microsoft_agents.hosting.core import (
        AgentApplication,
        AgentAuthConfiguration,
        AnonymousTokenProvider,
        MemoryStorage,
        TurnContext,
        TurnState,
    )

    class Anonymous:
        """No app id, as in local development: every connection is the SDK's anonymous token provider."""

        def __init__(self) -> None:
            self.provider = AnonymousTokenProvider()

        def get_connection(self, name: str) -> Any:
            return self.provider

        def get_default_connection(self) -> Any:
            return self.provider

        def get_token_provider(self, identity: Any, service_url: str) -> Any:
            return self.provider

        def get_token_provider_from_activity(self, identity: Any, activity: Any) -> Any:
            return self.provider

        def get_default_connection_configuration(self) -> Any:
            return AgentAuthConfiguration(anonymous_allowed=True)

    connections = Anonymous()
    adapter = CloudAdapter(connection_manager=connections)
    agent = AgentApplication[TurnState](
        storage=MemoryStorage(), adapter=adapter, connection_manager=connections
    )

    @agent.activity("message")
    async def on_message(context: TurnContext, state: TurnState) -> None:
        await context.send_activity(f"Echo: {context.activity.text}")

    async def messages(request: web.Request) -> web.Response:
        return await start_agent_process(request, agent, adapter)

    app = web.Application(middlewares=[jwt_authorization_middleware])
    app.router.add_post("/api/messages", messages)
    app["agent_configuration"] = AgentAuthConfiguration(anonymous_allowed=True)
    return app


REFERENCES: dict[str, Callable[[str], web.Application]] = {
    "bare": bare_app,
    "bolt": bolt_app,
    "botbuilder": botbuilder_app,
    "agents": agents_app,
}


# ---------------------------------------------------------------- requests (signed, unique ids)


def raw_request(path: str, port: int, content_type: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}"]
    lines += [f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def signed(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + mac.hexdigest()}


def slash_commands(port: int, fake: str, run: str) -> Iterator[bytes]:
    for n in range(REQUESTS_PER_FILE):
        form = {
            "token": "legacy",
            "team_id": "T0BENCH",
            "team_domain": "bench",
            "channel_id": "C0BENCH",
            "channel_name": "bench",
            "user_id": "U0ASKER",
            "user_name": "staff",
            "command": "/nhsmail",
            "text": QUESTION,
            "api_app_id": "A0BENCH",
            "response_url": f"{fake}/response/{run}-{n}",
            "trigger_id": f"{run}.{n}.bench",
        }
        body = urlencode(form).encode()
        yield raw_request("/slack/events", port, "application/x-www-form-urlencoded", body, signed(body))


def app_mentions(port: int, fake: str, run: str) -> Iterator[bytes]:
    for n in range(REQUESTS_PER_FILE):
        event = {
            "type": "app_mention",
            "user": "U0ASKER",
            "text": f"<@UBOT> {QUESTION}",
            "ts": "1700000000.000100",
            "channel": f"C{run}x{n}",
            "event_ts": "1700000000.000100",
        }
        payload = {
            "token": "legacy",
            "team_id": "T0BENCH",
            "api_app_id": "A0BENCH",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{run}x{n}",
            "event_time": 1700000000,
            "authorizations": [{"team_id": "T0BENCH", "user_id": "UBOT", "is_bot": True}],
        }
        body = json.dumps(payload).encode()
        yield raw_request("/slack/events", port, "application/json", body, signed(body))


def teams_messages(port: int, fake: str, run: str) -> Iterator[bytes]:
    for n in range(REQUESTS_PER_FILE):
        activity = {
            "type": "message",
            "id": f"act-{run}-{n}",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "serviceUrl": f"{fake}/",
            "channelId": "msteams",
            "from": {
                "id": "29:staff",
                "name": "Staff",
                "aadObjectId": "00000000-0000-0000-0000-000000000001",
            },
            "conversation": {"id": f"conv-{run}-{n}", "conversationType": "personal"},
            "recipient": {"id": "28:bot", "name": "nhsmail-bot"},
            "text": QUESTION,
            "locale": "en-GB",
        }
        body = json.dumps(activity).encode()
        yield raw_request("/api/messages", port, "application/json", body, {})


def bare_posts(port: int, fake: str, run: str) -> Iterator[bytes]:
    for _ in range(REQUESTS_PER_FILE):
        yield raw_request("/", port, "application/json", b'{"ok": true}', {})


@dataclass(frozen=True)
class Scenario:
    name: str
    requests: Callable[[int, str, str], Iterator[bytes]]
    answers: bool  # whether each request should end in one delivered answer
    in_acknowledgement: bool = False  # delivered in the HTTP answer itself, not to a fake service


BARE = Scenario("bare POST", bare_posts, answers=False)
SLASH = Scenario("slash command", slash_commands, answers=True, in_acknowledgement=True)
MENTION = Scenario("app_mention", app_mentions, answers=True)
TEAMS = Scenario("Teams message", teams_messages, answers=True)
# the reference's slash command only acks, as a minimal Bolt app does: nothing to deliver
SLASH_ACK = Scenario("slash command", slash_commands, answers=False)


# ---------------------------------------------------------------- running


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("did not start listening")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fake_stats(fake: str, reset: bool = False) -> dict[str, int]:
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"{fake}/reset", method="POST"), timeout=5).read()
    with urllib.request.urlopen(f"{fake}/stats", timeout=5) as response:
        stats: dict[str, int] = json.loads(response.read())
    return stats


@dataclass
class Result:
    target: str
    scenario: str
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    cpu_ms: float = 0.0
    sent: int = 0
    delivered: int | None = None
    note: str = ""


def write_requests(path: Path, requests: Iterator[bytes]) -> None:
    with path.open("wb") as out:
        for request in requests:
            out.write(request + b"\0")


def run_wrk(script: Path, requests: Path, port: int, seconds: float, connections: int) -> dict[str, int]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script)]
    command += [f"http://127.0.0.1:{port}/", "--", str(requests)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("{"))
    figures: dict[str, int] = json.loads(line)
    return figures


def at_once(
    script: Path, runs: list[tuple[int, Path]], seconds: float, connections: int
) -> list[dict[str, int]]:
    """wrk against several servers at the same time, one (port, requests) each; their figures in order."""
    with ThreadPoolExecutor(len(runs)) as pool:
        started = [pool.submit(run_wrk, script, path, port, seconds, connections) for port, path in runs]
        return [future.result() for future in started]


def quiet(pids: list[int], timeout: float = 15.0) -> None:
    """Wait until none of these processes uses more than a little CPU: their work in hand is done."""
    deadline = time.monotonic() + timeout
    last = [cpu_seconds(pid) for pid in pids]
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = [cpu_seconds(pid) for pid in pids]
        if all(b - a <= 0.02 for a, b in zip(last, now, strict=True)):
            return
        last = now


def settle(fake: str, expected: int, timeout: float = 5.0) -> int:
    """Wait for answers still on their way: until all arrived, or the count stops moving."""
    deadline = time.monotonic() + timeout
    last, steady = -1, 0
    while time.monotonic() < deadline:
        count = fake_stats(fake)["delivered"]
        if count >= expected:
            return count
        steady = steady + 1 if count == last else 0
        if steady >= 5:
            return count
        last = count
        time.sleep(0.1)
    return fake_stats(fake)["delivered"]


def request_files(
    folder: Path, target: str, scenario: Scenario, port: int, fake: str, run: str
) -> tuple[Path, Path]:
    """The warm-up's requests and the timed run's, for one server, every id in them unique to `run`."""
    warm, timed = folder / f"{target}.warm.bin", folder / f"{target}.timed.bin"
    write_requests(warm, scenario.requests(port, fake, f"w{run}"))
    write_requests(timed, scenario.requests(port, fake, run))
    return warm, timed


def from_wrk(
    target: str, scenario: Scenario, figures: dict[str, int], cpu: float, delivered: int | None = None
) -> Result:
    """A run's result from wrk's figures and the server's CPU seconds over it."""
    return Result(
        target,
        scenario.name,
        rps=figures["completed"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["socket_errors"] + figures["status_errors"],
        cpu_ms=1000 * cpu / max(figures["completed"], 1),
        sent=figures["issued"],
        delivered=delivered,
    )


def serve_command(port: int) -> list[str]:
    """This project's server, as a checkout runs it."""
    return [sys.executable, "-m", "adapters.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]


def measure(
    target: str,
    scenario: Scenario,
    pid: int,
    port: int,
    fake: str,
    folder: Path,
    args: argparse.Namespace,
) -> Result:
    script = folder / "requests.lua"
    run = f"{target[:3]}{scenario.name[:2]}{int(time.time() * 1000) % 100000}"
    warm, timed = request_files(folder, target, scenario, port, fake, run)
    run_wrk(script, warm, port, 1, args.connections)
    settle(fake, 10**9, timeout=1.0)
    fake_stats(fake, reset=True)
    cpu_before = cpu_seconds(pid)
    figures = run_wrk(script, timed, port, args.seconds, args.connections)
    if scenario.in_acknowledgement:
        delivered = figures["acked"]
    else:
        delivered = settle(fake, figures["issued"]) if scenario.answers else None
    result = from_wrk(target, scenario, figures, cpu_seconds(pid) - cpu_before, delivered)
    if figures["issued"] > figures["loaded"] and scenario.answers:  # a bare POST carries no id
        result.note = "ids repeated: raise REQUESTS_PER_FILE"
    return result


def agents_python(given: str | None) -> tuple[str | None, str]:
    """The Agents SDK's own venv: given, or made once under the temp folder. (python, why not)"""
    if given:
        return given, ""
    venv = Path(tempfile.gettempdir()) / "nhsmail-bench-agents-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing {AGENTS_PACKAGE} into a throwaway venv at {venv} ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", AGENTS_PACKAGE],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.SubprocessError, OSError) as error:
            shutil.rmtree(venv, ignore_errors=True)
            return None, f"{AGENTS_PACKAGE} did not install: {type(error).__name__}"
    return str(python), ""


def split_cores() -> int:
    """Servers on the first core, the bench (wrk, the fake services) on the others: the cores of a shared
    machine need not run at the same speed, and a server should not run on one core in one round and on
    another in the next. The core the servers get."""
    first, *others = sorted(os.sched_getaffinity(0))
    if others:
        os.sched_setaffinity(0, others)  # inherited by every process the bench starts, but the servers
    return first


def start(
    command: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT, core: int | None = None
) -> subprocess.Popen[bytes]:
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bench(args: argparse.Namespace) -> list[Result]:
    if shutil.which("wrk") is None:
        raise SystemExit("bench/server.py needs wrk: apt-get install -y wrk")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="nhsmail-bench-") as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        (folder / "requests.lua").write_text(WRK_SCRIPT)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        core = split_cores()
        fake_port = free_port()
        fakes = start([sys.executable, __file__, "--fakes", str(fake_port)], env, folder / "fakes.log")
        fake = f"http://127.0.0.1:{fake_port}"
        try:
            wait_listening(fake_port, fakes)
            wanted = args.only.split(",") if args.only else ["agents"]
            agents, why_not = agents_python(args.agents_python) if "agents" in wanted else (None, "not run")
            plan: list[tuple[str, list[str], dict[str, str], list[Scenario], Path]] = [
                ("bare", [sys.executable], env, [BARE], ROOT),
                ("bolt", [sys.executable], env, [SLASH_ACK, MENTION], ROOT),
                ("botbuilder", [sys.executable], env, [TEAMS], ROOT),
            ]
            if agents:
                plan.append(("agents", [agents], {**env, "PYTHONPATH": ""}, [TEAMS], ROOT))
            elif "agents" in wanted:
                results.append(Result("agents", TEAMS.name, note=why_not))
            settings = {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": f"{fake}/api",
            }
            # the store off (in memory), on SQLite and on PostgreSQL: what keeping state costs a turn
            stores = [("project", "memory:"), ("project+sqlite", f"sqlite:///{folder / 'bench.db'}")]
            postgres = stack.enter_context(postgres_database(args.postgres))
            if postgres:
                stores.append(("project+postgres", postgres))
            else:
                results.append(
                    Result("project+postgres", "", note=f"skipped: no PostgreSQL at {args.postgres}")
                )
            checkouts = [(name, ROOT, url) for name, url in stores]
            if args.baseline:
                # the baseline keeps its state apart from the project's, on the same kind of store
                baseline_store: str | None = {
                    "memory": "memory:",
                    "sqlite": f"sqlite:///{folder / 'baseline.db'}",
                }.get(args.baseline_store)
                if args.baseline_store == "postgres" and postgres:
                    baseline_store = stack.enter_context(postgres_database(args.postgres, "baseline"))
                if baseline_store:
                    checkouts.append(("baseline", args.baseline.resolve(), baseline_store))
                else:
                    results.append(Result("baseline", "", note=f"skipped: no PostgreSQL at {args.postgres}"))
            for name, checkout, database in checkouts:
                checkout_env = {
                    **env,
                    **settings,
                    "PYTHONPATH": str(checkout),
                    "DATABASE_URL": database,
                    # wrk is one sender many times over: the per-person limit would answer for the bot
                    "RATE_LIMIT_PER_MINUTE": "999999",
                    "XDG_DATA_HOME": str(folder / "data"),
                }
                plan.append((name, [], checkout_env, [SLASH, MENTION, TEAMS], checkout))
            if args.together:
                project = [entry for entry in plan if not entry[1]]
                results += together(project, fake, folder, args, core)
                return results
            # rounds interleaved, best of each kept: the machine is shared, and one slow moment should not
            # decide a ratio
            for target, python, target_env, scenarios, cwd in plan * args.rounds:
                if args.only and target not in args.only.split(","):
                    continue
                port = free_port()
                if not python:  # a checkout of this project
                    command = serve_command(port)
                else:
                    command = [*python, __file__, "--target", target, "--port", str(port), "--fake", fake]
                log = folder / f"{target}.log"
                print(f"{target}: starting", flush=True)
                process = start(command, target_env, log, cwd, core=core)
                try:
                    wait_listening(port, process)
                    for scenario in scenarios:
                        results.append(measure(target, scenario, process.pid, port, fake, folder, args))
                        print(f"{target}: {scenario.name} done", flush=True)
                except (RuntimeError, subprocess.SubprocessError) as error:
                    tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
                    results.append(Result(target, "", note=f"failed: {error} {tail[0][:120]}"))
                finally:
                    stop(process)
        finally:
            stop(fakes)
    return results


def together(
    plan: list[tuple[str, list[str], dict[str, str], list[Scenario], Path]],
    fake: str,
    folder: Path,
    args: argparse.Namespace,
    core: int,
) -> list[Result]:
    """The project's servers (store in memory, on SQLite, on PostgreSQL) all running at once on one core,
    each under a wrk of its own for the same seconds: a slow moment of a shared machine falls on all of
    them alike, so what a request costs compares even when the machine's speed moves by a third from minute
    to minute. Taking turns on the core, each server finds more requests waiting when its turn comes, so
    it shares its store's statements among more turns than a server with a core of its own would.
    Answers delivered are not counted: the fake services are shared."""
    targets = [entry for entry in plan if not args.only or entry[0] in args.only.split(",")]
    servers: list[tuple[str, int, subprocess.Popen[bytes]]] = []
    results: list[Result] = []
    try:
        for target, _, target_env, _, cwd in targets:
            port = free_port()
            process = start(serve_command(port), target_env, folder / f"{target}.log", cwd, core=core)
            servers.append((target, port, process))
        for _, port, process in servers:
            wait_listening(port, process)
        for round_ in range(args.rounds):
            for scenario in (SLASH, MENTION, TEAMS):
                runs = []
                for target, port, process in servers:
                    run = f"t{round_}{target[-3:]}{scenario.name[:2]}{int(time.time() * 1000) % 100000}"
                    warm, timed = request_files(folder, target, scenario, port, fake, run)
                    runs.append((target, port, process, warm, timed))
                script = folder / "requests.lua"
                pids = [process.pid for _, _, process, _, _ in runs]
                at_once(script, [(port, warm) for _, port, _, warm, _ in runs], 1, args.connections)
                quiet(pids)  # the warm-up's answers and writes, still under way, are not counted
                cpu = {target: cpu_seconds(process.pid) for target, _, process, _, _ in runs}
                timed_runs = [(port, timed) for _, port, _, _, timed in runs]
                figures = at_once(script, timed_runs, args.seconds, args.connections)
                # the timed run's are: an app_mention is acknowledged first and answered after, so a
                # server given less of the machine has more of its requests' work still to do
                quiet(pids)
                for (target, _, process, _, _), f in zip(runs, figures, strict=True):
                    results.append(from_wrk(target, scenario, f, cpu_seconds(process.pid) - cpu[target]))
                print(f"round {round_ + 1}: {scenario.name} done", flush=True)
    finally:
        for _, _, process in servers:
            stop(process)
    return results


@contextlib.contextmanager
def postgres_database(admin_url: str, purpose: str = "project") -> Iterator[str | None]:
    """A database of the bench's own on the PostgreSQL at `admin_url`, dropped afterwards; None if it
    does not answer."""
    import asyncio

    import asyncpg

    name = f"nhsmail_bench_{purpose}_{os.getpid()}"

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin_url, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    try:
        asyncio.run(run(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError):
        yield None
        return
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def best_rounds(results: list[Result]) -> list[Result]:
    """Each target and scenario's round with the most requests a second, in the order first run."""
    best: dict[tuple[str, str], Result] = {}
    for r in results:
        key = (r.target, r.scenario)
        if key not in best or r.rps > best[key].rps:
            best[key] = r
    return list(best.values())


def by_round(results: list[Result]) -> dict[tuple[str, str], list[Result]]:
    """Each target and scenario's results, round by round."""
    rounds: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        if r.sent:
            rounds.setdefault((r.target, r.scenario), []).append(r)
    return rounds


def report(results: list[Result], args: argparse.Namespace) -> None:
    rounds = by_round(results)
    print()
    cores = os.cpu_count()
    best_of = f", best of {args.rounds} interleaved rounds" if args.rounds > 1 else ""
    if args.together:
        best_of = f", the project's servers at once, best of {args.rounds} rounds"
    warm = "after a 1 s warm-up"
    print(f"wrk -t1 -c{args.connections}, {args.seconds} s per scenario {warm}{best_of}, {cores} cores")
    results = best_rounds(results)
    header = f"{'target':11} {'scenario':15} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header + f" {'CPU ms/req':>10} {'delivered/sent':>16}")
    for r in results:
        if r.note and not r.sent:
            print(f"{r.target:11} {r.scenario:15} {r.note}")
            continue
        delivered = f"{r.delivered}/{r.sent}" if r.delivered is not None else f"-/{r.sent}"
        print(
            f"{r.target:11} {r.scenario:15} {r.rps:8.0f} {r.p50_ms:8.1f} {r.p99_ms:8.1f} {r.errors:7d}"
            f" {r.cpu_ms:10.2f} {delivered:>16} {r.note}"
        )
    found = {(r.target, r.scenario): r for r in results if r.sent}
    pairs = [
        ("slash command", "bolt"),
        ("app_mention", "bolt"),
        ("Teams message", "botbuilder"),
        ("Teams message", "agents"),
        *((scenario.name, "baseline") for scenario in (SLASH, MENTION, TEAMS)),
    ]
    # best against best, and each round against the same round: a round's runs are seconds apart, so a
    # slow minute of the shared machine weighs on both sides of its ratio. Run together, the servers share
    # one core as the scheduler pleases, so their rates say little; a request's CPU says what each would
    # answer with a core of its own (requests per CPU second)
    per_round = "requests per CPU second" if args.together else "req/s"

    def ratios(ours: str, theirs: str, scenario: str) -> str:
        """Best against best, then each round against the same round (median: each)."""
        mine, other = found.get((ours, scenario)), found.get((theirs, scenario))
        if not (mine and other and other.rps and other.cpu_ms):
            return ""
        pairs = zip(rounds[(ours, scenario)], rounds[(theirs, scenario)], strict=False)
        if args.together:
            paired = sorted(b.cpu_ms / a.cpu_ms for a, b in pairs if a.cpu_ms)
        else:
            paired = sorted(a.rps / b.rps for a, b in pairs if b.rps)
        each = f"{statistics.median(paired):.2f}x: " + " ".join(f"{r:.2f}" for r in paired) if paired else ""
        return f"{mine.rps / other.rps:5.2f}x   {mine.cpu_ms / other.cpu_ms:5.2f}x             {each}"

    # the baseline is set against the project on the same store
    same_store = {"memory": "project"}.get(args.baseline_store, f"project+{args.baseline_store}")
    print()
    print(f"project / reference     req/s   CPU per request   {per_round} round by round (median: each)")
    for scenario, reference in pairs:
        line = ratios(same_store if reference == "baseline" else "project", reference, scenario)
        if line:
            print(f"{scenario:15} / {reference:10} {line}")
    print()
    print(f"store on / store off        req/s   CPU per request   {per_round} round by round (median: each)")
    for store in ("project+sqlite", "project+postgres"):
        for scenario in (SLASH, MENTION, TEAMS):
            line = ratios(store, "project", scenario.name)
            if line:
                print(f"{scenario.name:15} {store.removeprefix('project+'):10} {line}")


def serve_target(name: str, port: int, fake: str) -> None:
    web.run_app(REFERENCES[name](fake), host="127.0.0.1", port=port, print=None, access_log=None)


def serve_fakes(port: int) -> None:
    web.run_app(Fakes().app(), host="127.0.0.1", port=port, print=None, access_log=None)


def main() -> None:
    global QUESTION  # what the request generators ask
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="measured seconds per scenario")
    parser.add_argument("--connections", type=int, default=16, help="wrk's concurrent connections")
    parser.add_argument("--rounds", type=int, default=1, help="run everything this often; keep each best")
    parser.add_argument("--agents-python", help="a python with microsoft-agents-hosting-aiohttp installed")
    parser.add_argument("--baseline", type=Path, help="another checkout of this project to run beside it")
    parser.add_argument(
        "--baseline-store",
        choices=("memory", "sqlite", "postgres"),
        default="memory",
        help="the baseline's store (a file or database of its own), set against project on the same store",
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL to make the store's database in (skipped if it does not answer)",
    )
    parser.add_argument("--only", help="run only these targets (comma-separated: bare,bolt,...,project)")
    parser.add_argument(
        "--together",
        action="store_true",
        help="run the project's servers (store off, SQLite, PostgreSQL) at once, each under its own wrk",
    )
    parser.add_argument(
        "--question",
        default=QUESTION,
        help='what every request asks (the default is one the words settle; "my email won\'t let me in" '
        "is one the sentence model weighs in on)",
    )
    # internal: the processes the bench starts
    parser.add_argument("--target", choices=sorted(REFERENCES), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fake", help=argparse.SUPPRESS)
    parser.add_argument("--fakes", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    QUESTION = args.question
    if args.fakes:
        serve_fakes(args.fakes)
    elif args.target:
        serve_target(args.target, args.port, args.fake)
    else:
        report(bench(args), args)


if __name__ == "__main__":
    main()
