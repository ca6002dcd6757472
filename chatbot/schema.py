"""Every table, imported so SQLModel.metadata (and Alembic) sees the whole schema."""

from sqlmodel import SQLModel

from chatbot.agents import models as agent_models  # noqa: F401
from chatbot.db import core_models  # noqa: F401
from chatbot.decisions import models as decision_models  # noqa: F401
from chatbot.deploys import models as deploy_models  # noqa: F401
from chatbot.digest import models as digest_models  # noqa: F401
from chatbot.github import models as github_models  # noqa: F401
from chatbot.intent import models as intent_models  # noqa: F401
from chatbot.jira import models as jira_models  # noqa: F401
from chatbot.metrics import checkins as checkin_models  # noqa: F401
from chatbot.outbox import models as outbox_models  # noqa: F401
from chatbot.teams import models as team_models  # noqa: F401

metadata = SQLModel.metadata
