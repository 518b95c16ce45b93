"""Hostile bench: seeded hostile messages through the CLI, Teams and Slack; counts crashes, echoes, leaks.

Run it from the checkout, after `make test` or `make chat` (any install of the project):

    .venv/bin/python bench/hostile.py                       # 3,400 messages per platform (10,200), seed 1
    .venv/bin/python bench/hostile.py --count 10000 --seed 7
    .venv/bin/python bench/hostile.py --show slack:4711     # print one message of a run, to reproduce it

Each platform gets its own seeded mix (bench/hostile_corpus.py) of Slack and Teams markup, markdown links
and images, Adaptive Card template syntax, HTML and script, control characters, ANSI escapes, newlines,
bidi overrides, zero-width characters, lone surrogates where the transport carries them (JSON escapes, so
Teams and Slack events), emoji, very long words, messages up to each platform's limit and regex-hostile
repetitions, with planted secrets: a password after "my password is", an NHS number valid under modulus 11
from England's range, a date of birth after "DOB", a UK postcode and "resident <name>", each value unique
to its message.

- CLI: one `nhsmail-bot ask --json` process reading one message per line (newlines inside a message become
  spaces: the transport is a line), with LOG_LEVEL=DEBUG and its stderr kept.
- Teams and Slack: one `nhsmail-bot serve --host 127.0.0.1` process in local mode, LOG_LEVEL=DEBUG, its
  output captured to a file, XDG_DATA_HOME a fresh folder (so its SQLite store is this run's). Teams
  activities are POSTed to /api/messages with a serviceUrl naming this bench's fake Bot Connector; Slack
  gets signed DMs, app_mentions and /nhsmail slash commands, with SLACK_API_URL naming this bench's fake
  Web API, and each command's response_url on the same fake (a command's answer comes back in its
  acknowledgement; a click's would go to the response_url). The fakes record everything the bot sends.
  Every message has its own user and conversation, so the per-user rate limit never answers instead.

Printed per platform and in total: messages sent; crashes (the CLI exiting non-zero or printing a
traceback, the server dying); 5xx answers; transport errors (no answer within the timeout); echoes (a
marker such as `<@U0EVIL>`, `<!here>`, `evil.example` or `${` in what the bot sent to the fake platform
or printed); planted secrets found in the captured log (server, or the CLI's stderr) and in the store's
files (raw bytes); 4xx answers and messages that got no reply (for information); p99 and worst latency of
the HTTP answer. Then the server log's tracebacks, and examples of each problem. The exit status is 1 when
any count but latency, 4xx and no reply is non-zero.

On this project's 2 shared cores, the default (3,400 messages per platform, 10,200 in all) takes about
three minutes; --count 10000 (30,000 in all) took 7 min 44 s, most of it the server's turns.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.hostile_corpus import MARKERS, Message, corpus, found_secrets, secret_index  # noqa: E402

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # made up, as in Slack's documentation
BOT_TOKEN = "xoxb-hostile-bench"
BOT_ID = "28:0b5d7f9e-1c3a-4e5f-9a7b-2c4d6e8f0a1b"
TENANT = "3a7b9c1d-2e4f-4a6b-8c0d-1e2f3a4b5c6d"
MAX_BODY = 250 * 1024  # under the server's 256 KiB body limit, so a huge message is read, not refused
# the settings a developer's shell may hold that would take the server out of local mode or off its store
CLEARED = (
    "MicrosoftAppId",
    "MicrosoftAppPassword",
    "MicrosoftAppType",
    "MicrosoftAppTenantId",
    "DATABASE_URL",
)
CLEARED_PREFIXES = ("SLACK_", "ToChannelFromBot", "ToBotFromChannel", "TEAMS_")
_INDEX = re.compile(r"HOSTILE-?(\d+)", re.IGNORECASE)


@dataclass
class Figures:
    """What one platform's run saw."""

    sent: int = 0
    crashes: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    echoes: int = 0
    log_secrets: int = 0
    store_secrets: int = 0
    client_errors: int = 0
    no_reply: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def example(self, kind: str, text: str) -> None:
        if len(self.examples[kind]) < 5:
            self.examples[kind].append(text)

    @property
    def failures(self) -> int:
        counts = (self.crashes, self.server_errors, self.transport_errors, self.echoes)
        return sum(counts) + self.log_secrets + self.store_secrets


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value, with where it is."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings(value, f"{path}[{i}]")


def check_echoes(figures: Figures, platform: str, index: int, body: Any, messages: list[Message]) -> None:
    """Counts one echo per reply that shows a marker, and keeps where it was and the message's shapes."""
    for path, text in strings(body):
        for marker in MARKERS:
            at = text.find(marker)
            if at >= 0:
                figures.echoes += 1
                shapes = ",".join(messages[index].shapes) if 0 <= index < len(messages) else "?"
                snippet = text[max(0, at - 40) : at + 60]
                figures.example("echo", f"{platform}:{index} [{shapes}] {marker!r} at {path}: {snippet!r}")
                return


# ---------------------------------------------------------------- the fake platforms


class Fakes:
    """The fake Bot Connector and Slack Web API (and response_urls), recording what the bot sent:
    (platform, message index, body)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        for method in ("POST", "PUT", "DELETE"):
            app.router.add_route(method, "/v3/conversations/{conversation}/activities", self._teams)
            app.router.add_route(
                method, "/v3/conversations/{conversation}/activities/{activity}", self._teams
            )
        app.router.add_post("/api/{method}", self._slack)
        app.router.add_post("/response/{index}", self._response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _index(self, key: str) -> int:
        match = _INDEX.search(key)
        return int(match.group(1)) if match else -1

    async def _teams(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.sent.append(("teams", self._index(request.match_info["conversation"]), body))
        return web.json_response({"id": f"1:{uuid.uuid4().hex}"})

    async def _slack(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        body = json.loads(raw) if request.content_type == "application/json" else dict(parse_qsl(raw))
        if method == "auth.test":
            identity = {"team_id": "T0CAREHOME", "user_id": "UBOT", "bot_id": "BBOT", "user": "nhsmail"}
            return web.json_response({"ok": True, "url": "https://carehome.slack.com/", **identity})
        if not method.startswith("chat."):
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        self.sent.append(("slack", self._index(str(body.get("channel", ""))), body))
        return web.json_response({"ok": True, "channel": body.get("channel"), "ts": "1700000999.000900"})

    async def _response_url(self, request: web.Request) -> web.Response:
        raw = await request.text()
        body = json.loads(raw) if raw.startswith("{") else raw
        self.sent.append(("slack", int(request.match_info["index"]), body))
        return web.Response(text="ok")


# ---------------------------------------------------------------- the messages as each platform sends them


def teams_activity(message: Message, service_url: str) -> dict[str, Any]:
    """A Teams message activity as the Bot Connector posts it: a personal chat, or a channel @mention."""
    i = message.index
    personal = i % 10 < 7
    activity: dict[str, Any] = {
        "type": "message",
        "id": f"{1741083611555 + i}",
        "timestamp": "2025-03-04T10:20:11.5550000Z",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:hostile-{i}", "name": "Sam Carer", "aadObjectId": str(uuid.uuid4())},
        "recipient": {"id": BOT_ID, "name": "NHSmail Bot"},
        "textFormat": "plain",
        "locale": "en-GB",
        "channelData": {"tenant": {"id": TENANT}},
    }
    if personal:
        activity["text"] = message.text
        activity["conversation"] = {
            "conversationType": "personal",
            "tenantId": TENANT,
            "id": f"a:hostile-{i}",
        }
    else:
        mention = "<at>NHSmail Bot</at>"
        activity["text"] = f"{mention} {message.text}"[: 28 * 1024]
        channel = f"19:hostile-{i}@thread.tacv2"
        activity["conversation"] = {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": TENANT,
            "id": f"{channel};messageid={activity['id']}",
        }
        activity["entities"] = [
            {"mentioned": {"id": BOT_ID, "name": "NHSmail Bot"}, "text": mention, "type": "mention"}
        ]
        activity["channelData"] |= {"teamsChannelId": channel, "channel": {"id": channel}}
    return activity


def json_bytes(body: Any) -> bytes:
    """JSON as a platform sends it: UTF-8, with \\u escapes only where a lone surrogate needs one."""
    try:
        return json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(body).encode()


def slack_request(message: Message, fake: str) -> tuple[bytes, str]:
    """A DM, an app_mention or a /nhsmail slash command carrying the message, and its content type."""
    i, text = message.index, message.text
    user, kind = f"UHOSTILE{i}", i % 3
    if kind == 2:  # a form cannot carry a lone surrogate: those are dropped
        text = text.encode("utf-8", "ignore").decode()
        form = {
            "token": "unused",
            "team_id": "T0CAREHOME",
            "team_domain": "carehome",
            "channel_id": f"CHOSTILE{i}",
            "channel_name": "staff-room",
            "user_id": user,
            "user_name": "care.worker",
            "command": "/nhsmail",
            "text": text,
            "api_app_id": "A0NHSMAIL",
            "is_enterprise_install": "false",
            "response_url": f"{fake}/response/{i}",
            "trigger_id": f"{int(time.time())}.1000000000.{uuid.uuid4().hex}",
        }
        body = urlencode(form).encode()
        while len(body) > MAX_BODY:  # percent-encoding multiplies non-ASCII by up to nine
            form["text"] = form["text"][: len(form["text"]) * 9 // 10]
            body = urlencode(form).encode()
        return body, "application/x-www-form-urlencoded"
    if kind == 0:
        event = {"type": "message", "channel": f"DHOSTILE{i}", "channel_type": "im", "text": text}
    else:
        event = {"type": "app_mention", "channel": f"CHOSTILE{i}", "text": f"<@UBOT> {text}"[:40_000]}
    event |= {
        "user": user,
        "ts": f"1700000100.{i:06d}",
        "event_ts": f"1700000100.{i:06d}",
        "team": "T0CAREHOME",
    }
    envelope = {
        "token": "unused",
        "team_id": "T0CAREHOME",
        "api_app_id": "A0NHSMAIL",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:16].upper()}",
        "event_time": 1700000100,
        "authorizations": [{"team_id": "T0CAREHOME", "user_id": "UBOT", "is_bot": True}],
        "is_ext_shared_channel": False,
    }
    return json_bytes(envelope), "application/json"


def slack_headers(body: bytes, content_type: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


# ---------------------------------------------------------------- running


def command() -> list[str]:
    """The nhsmail-bot command of the Python running this bench."""
    script = Path(sys.executable).parent / "nhsmail-bot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "adapters.cli"]


def environment(data: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in CLEARED and not key.startswith(CLEARED_PREFIXES)
    }
    return env | {"XDG_DATA_HOME": str(data), "LOG_LEVEL": "DEBUG", "PYTHONPATH": str(ROOT)} | extra


async def run_cli(messages: list[Message], folder: Path, figures: Figures) -> None:
    """Every message through one `ask --json` process; on a crash, counts it and goes on after that line."""
    # only \n and \r end a line on a text stdin (\u2028 and the like stay in); stdin carries no lone surrogate
    lines = [m.text.replace("\r", " ").replace("\n", " ") + "\n" for m in messages]
    start, restarts, stderr_path = 0, 0, folder / "cli.stderr"
    started = time.monotonic()
    with stderr_path.open("wb") as stderr:
        while start < len(lines) and restarts <= 20:
            process = await asyncio.create_subprocess_exec(
                *command(),
                "ask",
                "--json",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=environment(folder / "data"),
                limit=16 * 1024 * 1024,
            )
            assert process.stdin is not None and process.stdout is not None

            async def feed(stdin: asyncio.StreamWriter, batch: list[str]) -> None:
                try:
                    for line in batch:
                        stdin.write(line.encode())
                        await stdin.drain()
                    stdin.close()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            feeder = asyncio.create_task(feed(process.stdin, lines[start:]))
            answered = start
            while line := await process.stdout.readline():
                figures.sent += 1
                try:
                    reply = json.loads(line)
                except ValueError:
                    figures.crashes += 1
                    figures.example(
                        "crash", f"cli:{answered} printed a line that is not JSON: {line[:120]!r}"
                    )
                    reply = {}
                check_echoes(figures, "cli", answered, reply, messages)
                answered += 1
            await feeder
            status = await process.wait()
            if status != 0 or answered < len(lines):
                figures.crashes += 1
                shapes = ",".join(messages[answered].shapes) if answered < len(messages) else "?"
                figures.example("crash", f"cli:{answered} [{shapes}] exit status {status}")
                figures.sent += 1  # the message it died on
                start, restarts = answered + 1, restarts + 1
            else:
                start = answered
    figures.seconds = time.monotonic() - started
    text = stderr_path.read_text(errors="replace")
    if "Traceback (most recent call last)" in text:
        figures.crashes += text.count("Traceback (most recent call last)")
        figures.example("crash", f"cli stderr: {text[text.index('Traceback') :][:300]!r}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`nhsmail-bot serve` on loopback in local mode, with Slack pointed at the fakes."""

    def __init__(self, folder: Path, fake: str) -> None:
        self.folder, self.fake = folder, fake
        self.log = folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    async def start(self, session: aiohttp.ClientSession) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = environment(
            self.folder / "data",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{self.fake}/api",
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.process.returncode}: see {self.log}")
            try:
                async with session.get(f"{self.url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError("the server was not ready within 120 s")

    @property
    def died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def run_http(
    platform: str,
    messages: list[Message],
    server: Server,
    fakes: Fakes,
    session: aiohttp.ClientSession,
    figures: Figures,
    concurrency: int,
) -> None:
    """Every message posted to the server, `concurrency` at a time; then what the bot sent is checked."""
    gate = asyncio.Semaphore(concurrency)
    replied = set()  # a slash command's answer comes back in its acknowledgement

    async def send(message: Message) -> None:
        if platform == "teams":
            path, headers = "/api/messages", {"Content-Type": "application/json"}
            body = json_bytes(teams_activity(message, fakes.url))
        else:
            path = "/slack/events"
            body, content_type = slack_request(message, fakes.url)
            headers = slack_headers(body, content_type)
        async with gate:
            figures.sent += 1
            started = time.monotonic()
            try:
                async with session.post(server.url + path, data=body, headers=headers) as response:
                    answer = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                figures.transport_errors += 1
                figures.example("error", f"{platform}:{message.index} {type(error).__name__}: {error}"[:200])
                return
            figures.latencies.append(time.monotonic() - started)
        figures.statuses[status] += 1
        shapes = ",".join(message.shapes)
        if status >= 500:
            figures.server_errors += 1
            figures.example("5xx", f"{platform}:{message.index} [{shapes}] {status} {answer[:120]!r}")
        elif status >= 400:
            figures.client_errors += 1
            figures.example("4xx", f"{platform}:{message.index} [{shapes}] {status} {answer[:120]!r}")
        if status < 300 and answer:
            replied.add(message.index)
            try:
                check_echoes(figures, platform, message.index, json.loads(answer), messages)
            except ValueError:
                check_echoes(figures, platform, message.index, answer.decode(errors="replace"), messages)

    before = len(fakes.sent)
    started = time.monotonic()
    await asyncio.gather(*(send(m) for m in messages))
    # Slack's replies go out after the ack: wait until they stop arriving
    settled, count = time.monotonic(), len(fakes.sent)
    while time.monotonic() - settled < 2 and time.monotonic() - started < 600:
        await asyncio.sleep(0.25)
        if len(fakes.sent) != count:
            settled, count = time.monotonic(), len(fakes.sent)
    figures.seconds = time.monotonic() - started
    if server.died:
        figures.crashes += 1
        figures.example(
            "crash", f"{platform}: the server died, status {server.process and server.process.returncode}"
        )
    for sent_platform, index, body in fakes.sent[before:]:
        if sent_platform == platform:
            replied.add(index)
            check_echoes(figures, platform, index, body, messages)
    figures.no_reply = sum(1 for m in messages if m.index not in replied)


def count_secrets(
    text: str,
    wanted: dict[str, dict[str, tuple[int, str]]],
    messages: dict[str, list[Message]],
    figures: dict[str, Figures],
    where: str,
) -> None:
    """Counts, per platform, the planted secrets found in `text`, keeping which kind and message."""
    everything = {secret for secrets in wanted.values() for secret in secrets}
    for secret in found_secrets(text, everything):
        for platform, secrets in wanted.items():
            if secret in secrets:
                index, kind = secrets[secret]
                setattr(figures[platform], where, getattr(figures[platform], where) + 1)
                shapes = ",".join(messages[platform][index].shapes)
                figures[platform].example(where, f"{platform}:{index} [{shapes}] {kind} {secret!r}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(figures: dict[str, Figures], tracebacks: int, args: argparse.Namespace) -> int:
    total = Figures()
    for f in figures.values():
        for name in ("sent", "crashes", "server_errors", "transport_errors", "echoes", "log_secrets"):
            setattr(total, name, getattr(total, name) + getattr(f, name))
        for name in ("store_secrets", "client_errors", "no_reply", "seconds"):
            setattr(total, name, getattr(total, name) + getattr(f, name))
        total.latencies += f.latencies
    print()
    print(f"seed {args.seed}, {args.count} messages per platform, concurrency {args.concurrency}")
    header = f"{'platform':9} {'sent':>6} {'crashes':>7} {'5xx':>5} {'errors':>6} {'echoes':>6} {'log':>5}"
    print(header + f" {'store':>5} {'4xx':>5} {'no reply':>8} {'p99 ms':>8} {'worst ms':>9} {'seconds':>8}")
    for name, f in [*figures.items(), ("total", total)]:
        latency = (
            f"{1000 * percentile(f.latencies, 0.99):8.1f} {1000 * max(f.latencies):9.1f}"
            if f.latencies
            else f"{'-':>8} {'-':>9}"
        )
        print(
            f"{name:9} {f.sent:6d} {f.crashes:7d} {f.server_errors:5d} {f.transport_errors:6d} {f.echoes:6d}"
            f" {f.log_secrets:5d} {f.store_secrets:5d} {f.client_errors:5d} {f.no_reply:8d} {latency}"
            f" {f.seconds:8.1f}"
        )
    print(f"server log: {tracebacks} tracebacks")
    print(
        "(log: planted secrets found in the server's log, or the CLI's stderr; store: in the store's files)"
    )
    for name, f in figures.items():
        for kind, examples in f.examples.items():
            for example in examples:
                print(f"  {name} {kind}: {example}")
    return 1 if total.failures or tracebacks else 0


async def bench(args: argparse.Namespace, folder: Path) -> int:
    platforms = ("cli", "teams", "slack")
    messages = {p: corpus(args.seed, p, args.count, surrogates=p != "cli") for p in platforms}
    wanted = {platform: secret_index(messages[platform]) for platform in platforms}
    for platform in platforms:  # the scan must find every secret where it surely is: in the messages sent
        planted = set(wanted[platform])
        missed = planted - found_secrets("\n".join(m.text for m in messages[platform]), planted)
        print(
            f"{platform}: {len(planted)} planted secrets, the scan finds {len(planted) - len(missed)} of them"
        )
        if missed:
            raise SystemExit(f"the scan misses planted secrets, e.g. {sorted(missed)[:3]}")
    figures = {platform: Figures() for platform in platforms}
    (folder / "data").mkdir()
    print(f"cli: {args.count} messages", flush=True)
    await run_cli(messages["cli"], folder, figures["cli"])
    cli_log = (folder / "cli.stderr").read_text(errors="replace")
    count_secrets(cli_log, {"cli": wanted["cli"]}, messages, figures, "log_secrets")
    fakes = Fakes()
    await fakes.start()
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    server = Server(folder, fakes.url)
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            await server.start(session)
            for platform in ("teams", "slack"):
                print(f"{platform}: {args.count} messages", flush=True)
                if server.died:
                    await server.start(session)
                await run_http(
                    platform, messages[platform], server, fakes, session, figures[platform], args.concurrency
                )
    finally:
        server.stop()
        await fakes.stop()
    log = server.log.read_text(errors="replace")
    count_secrets(log, {p: wanted[p] for p in ("teams", "slack")}, messages, figures, "log_secrets")
    # raw bytes: latin-1 maps each byte to a character, so all SQLite wrote (pages, WAL, freed pages) is read
    store = "\n".join(
        p.read_bytes().decode("latin-1") for p in sorted((folder / "data").rglob("*")) if p.is_file()
    )
    count_secrets(store, wanted, messages, figures, "store_secrets")
    if args.keep:
        kept = Path(args.keep)
        shutil.copytree(folder, kept, dirs_exist_ok=True)
        print(f"kept the logs and the store in {kept}")
    return report(figures, log.count("Traceback (most recent call last)"), args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=3_400, help="messages per platform (default 3,400)")
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP requests in flight (default 8)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for one HTTP answer")
    parser.add_argument("--keep", metavar="DIR", help="copy the logs and the store there at the end")
    parser.add_argument("--show", metavar="PLATFORM:INDEX", help="print one message of the run and stop")
    args = parser.parse_args()
    if args.show:
        platform, index = args.show.split(":")
        message = corpus(args.seed, platform, args.count, surrogates=platform != "cli")[int(index)]
        print(json.dumps({"shapes": message.shapes, "secrets": message.secrets, "text": message.text}))
        return
    with tempfile.TemporaryDirectory(prefix="nhsmail-hostile-") as tmp:
        status = asyncio.run(bench(args, Path(tmp)))
    sys.exit(status)


if __name__ == "__main__":
    main()
