"""Thin translators between chat platforms (Teams, Slack, console) and the core."""
