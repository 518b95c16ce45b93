"""`nhsmail-bot chat` on a real pseudo-terminal: quit, Ctrl-D and Ctrl-C all end it politely, exit 0."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from config_tools import ROOT, clean_env

from adapters.console import HINT

GOODBYE = "Bye for now. Ask again any time."
GREETING = "Hello! What can I help you with on NHSmail?"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


class Terminal:
    """The command as a person runs it: its stdin, stdout and stderr are one terminal."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.child = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "chat"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=clean_env({"TERM": "xterm"}),
            start_new_session=True,
            # as a shell gives a program it runs in the foreground, whatever this test runner inherited
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        os.close(slave)
        self.screen = b""

    def read_until(self, text: bytes, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.screen and time.monotonic() < deadline:
            self._read(0.2)
        assert text in self.screen, self.screen[-500:]

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the child has gone and the terminal is closed
            return False
        self.screen += chunk
        return bool(chunk)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self) -> tuple[int, str]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self._read(0.2):
            if self.child.poll() is not None and not select.select([self.master], [], [], 0.1)[0]:
                break
        status = self.child.wait(timeout=10)
        os.close(self.master)
        return status, self.screen.decode("utf-8", "replace")


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    term.read_until(b"you> ")
    yield term
    if term.child.poll() is None:
        term.child.kill()
        term.child.wait()


def test_the_welcome_says_how_to_leave(terminal: Terminal) -> None:
    terminal.type(b"quit\r")
    status, screen = terminal.finish()
    welcome, _ = screen.split("you> ", 1)
    assert welcome.rstrip().splitlines()[-1] == HINT
    assert status == 0


@pytest.mark.parametrize("word", [b"quit", b"exit", b"bye", b"QUIT"])
def test_a_quit_word_says_goodbye(terminal: Terminal, word: bytes) -> None:
    terminal.type(word + b"\r")
    status, screen = terminal.finish()
    assert status == 0
    assert screen.rstrip().endswith(GOODBYE)
    assert "Traceback" not in screen


def test_ctrl_d_ends_the_prompt_line_and_says_goodbye(terminal: Terminal) -> None:
    terminal.type(b"\x04")
    status, screen = terminal.finish()
    assert status == 0
    # the goodbye is on a line of its own, not after the prompt
    assert screen.rstrip().splitlines()[-1] == GOODBYE
    assert "Traceback" not in screen


def test_ctrl_c_says_goodbye_without_a_traceback(terminal: Terminal) -> None:
    time.sleep(0.5)  # the prompt is printed just before input() starts waiting for a key
    terminal.child.send_signal(signal.SIGINT)
    status, screen = terminal.finish()
    assert status == 0
    assert screen.rstrip().splitlines()[-1] == GOODBYE
    assert "Traceback" not in screen and "KeyboardInterrupt" not in screen


def test_arrow_keys_recall_the_last_message_and_edit_the_line(terminal: Terminal) -> None:
    terminal.type(b"hello\r")
    terminal.read_until(b"you> ", 30)
    terminal.type(b"\x1b[A\r")  # up arrow: "hello" again
    terminal.read_until(b"you> ", 30)
    terminal.type(b"qit\x1b[D\x1b[Du\r")  # "qit", two to the left, "u": quit
    status, screen = terminal.finish()
    assert status == 0
    assert screen.count(GREETING) == 2
    assert screen.rstrip().endswith(GOODBYE)
    assert "^[[" not in screen


def test_a_number_at_the_first_prompt_picks_a_welcome_example() -> None:
    piped = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "chat"],
        input="1\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(),
        timeout=60,
    )
    welcome, reply = piped.stdout.split("you> 1\n", 1)
    first_example = welcome.split("[1] ", 1)[1].splitlines()[0]
    assert piped.returncode == 0
    assert reply.startswith("== ")
    assert HINT not in piped.stdout  # piped output stays as it was: the hint is for people at a terminal
    assert first_example == "Forgotten password or locked out"
