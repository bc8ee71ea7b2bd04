"""Notifications: what happened to a stack, sent to JSON webhooks, Slack or a command.

``payload`` builds the one document every sink gets (never a secret or an
environment value); ``sinks`` delivers it once; ``delivery`` retries, with
backoff, on a background worker per sink, and drops repeats. The agent
(``stackctl.agent.notifications``) and ``stackctl apply --notify`` both use it.
"""
