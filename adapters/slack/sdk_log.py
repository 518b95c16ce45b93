"""The logger Bolt and slack_sdk write to: warnings and up only, redacted, without Bolt's set-up notes."""

from __future__ import annotations

import logging

from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped

from bot.redact import redact

# Bolt reads SLACK_BOT_TOKEN from the environment whatever it is given, then warns that the token is unused
# because the adapter passes its own client and authorize step: that is the design here, not a fault.
_SETUP_NOTES = frozenset({warning_client_prioritized_and_token_skipped(), warning_token_skipped()})
# an SDK line can hold a whole request body: only its start is kept, so masking it stays cheap
MAX_LINE = 1000


class _Quiet(logging.Filter):
    """Bolt and slack_sdk put whole request bodies in some log lines: mask what a user could have typed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in _SETUP_NOTES:
            return False
        record.msg, record.args = redact(message[:MAX_LINE]), None
        return True


def sdk_logger() -> logging.Logger:
    """The logger given to Bolt and slack_sdk: WARNING and up only (Bolt logs a rejected request's body at
    INFO, the SDK logs every payload at DEBUG), redacted, and without Bolt's notes on its own set-up."""
    sdk = logging.getLogger("adapters.slack.sdk")
    sdk.setLevel(logging.WARNING)
    if not any(isinstance(f, _Quiet) for f in sdk.filters):
        sdk.addFilter(_Quiet())
    return sdk
