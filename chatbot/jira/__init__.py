"""Jira: the gateway over the `jira` client, intent sync through the outbox, webhooks."""
