"""Decision log and context packs: models, recording, search and Markdown export.

Nothing here knows about Slack payloads or the Jira client.
"""
