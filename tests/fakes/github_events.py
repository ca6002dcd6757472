"""Webhook deliveries as GitHub sends them: full-size payloads in GitHub's documented shapes
(every URL field of the repository and user objects included, so a pull request event is
about as large as a real one), signed with `X-Hub-Signature-256`.

Independent of the production code on purpose: it describes GitHub, not the bot.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from dataclasses import dataclass
from typing import Any

API = "https://api.github.com"
WEB = "https://github.com"
_ids = itertools.count(1000)


def user(login: str, kind: str = "User") -> dict[str, Any]:
    uid = next(_ids)
    base = f"{API}/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": f"MDQ6VXNlcj{uid}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": kind,
        "site_admin": False,
    }


def repository(full_name: str) -> dict[str, Any]:
    owner, name = full_name.split("/")
    base = f"{API}/repos/{full_name}"
    urls = {
        f"{part}_url": f"{base}/{part}"
        for part in (
            "forks",
            "teams",
            "hooks",
            "events",
            "tags",
            "languages",
            "stargazers",
            "contributors",
            "subscribers",
            "subscription",
            "merges",
            "downloads",
            "deployments",
        )
    }
    templated = {
        "keys_url": f"{base}/keys{{/key_id}}",
        "collaborators_url": f"{base}/collaborators{{/collaborator}}",
        "issue_events_url": f"{base}/issues/events{{/number}}",
        "assignees_url": f"{base}/assignees{{/user}}",
        "branches_url": f"{base}/branches{{/branch}}",
        "blobs_url": f"{base}/git/blobs{{/sha}}",
        "git_tags_url": f"{base}/git/tags{{/sha}}",
        "git_refs_url": f"{base}/git/refs{{/sha}}",
        "trees_url": f"{base}/git/trees{{/sha}}",
        "statuses_url": f"{base}/statuses/{{sha}}",
        "commits_url": f"{base}/commits{{/sha}}",
        "git_commits_url": f"{base}/git/commits{{/sha}}",
        "comments_url": f"{base}/comments{{/number}}",
        "issue_comment_url": f"{base}/issues/comments{{/number}}",
        "contents_url": f"{base}/contents/{{+path}}",
        "compare_url": f"{base}/compare/{{base}}...{{head}}",
        "archive_url": f"{base}/{{archive_format}}{{/ref}}",
        "issues_url": f"{base}/issues{{/number}}",
        "pulls_url": f"{base}/pulls{{/number}}",
        "milestones_url": f"{base}/milestones{{/number}}",
        "notifications_url": f"{base}/notifications{{?since,all,participating}}",
        "labels_url": f"{base}/labels{{/name}}",
        "releases_url": f"{base}/releases{{/id}}",
    }
    return {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": name,
        "full_name": full_name,
        "private": True,
        "owner": user(owner, "Organization"),
        "html_url": f"{WEB}/{full_name}",
        "description": None,
        "fork": False,
        "url": base,
        **urls,
        **templated,
        "created_at": "2025-05-15T15:19:25Z",
        "updated_at": "2026-11-15T15:21:03Z",
        "pushed_at": "2026-11-15T15:20:57Z",
        "git_url": f"git://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git",
        "clone_url": f"{WEB}/{full_name}.git",
        "svn_url": f"{WEB}/{full_name}",
        "homepage": None,
        "size": 1204,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 2,
        "license": None,
        "forks": 0,
        "open_issues": 2,
        "watchers": 0,
        "default_branch": "main",
        "is_template": False,
        "topics": [],
        "visibility": "private",
        "web_commit_signoff_required": False,
    }


def sha(seed: object) -> str:
    return hashlib.sha1(str(seed).encode()).hexdigest()


@dataclass
class PullRequestState:
    """What a test says about a pull request; `payload()` renders GitHub's object."""

    repo: str
    number: int
    title: str = "Add retries to the payment client"
    body: str | None = "Retries with backoff."
    head_branch: str = "feature/retries"
    base_branch: str = "main"
    author: str = "octocat"
    author_type: str = "User"
    draft: bool = False
    state: str = "open"
    created_at: str = "2026-11-16T09:00:00Z"
    updated_at: str = "2026-11-16T09:00:00Z"
    closed_at: str | None = None
    merged_at: str | None = None
    head_sha: str = ""
    merge_commit_sha: str | None = None
    fork_owner: str | None = None  # set for a PR from a fork

    def payload(self) -> dict[str, Any]:
        base = f"{API}/repos/{self.repo}"
        head_sha = self.head_sha or sha(f"{self.repo}#{self.number}:head")
        return {
            "url": f"{base}/pulls/{self.number}",
            "id": 279147437 + self.number,
            "node_id": "MDExOlB1bGxSZXF1ZXN0Mjc5MTQ3NDM3",
            "html_url": f"{WEB}/{self.repo}/pull/{self.number}",
            "diff_url": f"{WEB}/{self.repo}/pull/{self.number}.diff",
            "patch_url": f"{WEB}/{self.repo}/pull/{self.number}.patch",
            "issue_url": f"{base}/issues/{self.number}",
            "number": self.number,
            "state": self.state,
            "locked": False,
            "title": self.title,
            "user": user(self.author, self.author_type),
            "body": self.body,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "closed_at": self.closed_at,
            "merged_at": self.merged_at,
            "merge_commit_sha": self.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [user("reviewer-1")],
            "requested_teams": [],
            "labels": [],
            "milestone": None,
            "commits_url": f"{base}/pulls/{self.number}/commits",
            "review_comments_url": f"{base}/pulls/{self.number}/comments",
            "review_comment_url": f"{base}/pulls/comments{{/number}}",
            "comments_url": f"{base}/issues/{self.number}/comments",
            "statuses_url": f"{base}/statuses/{head_sha}",
            "head": {
                "label": f"{self.fork_owner or self.repo.split('/')[0]}:{self.head_branch}",
                "ref": self.head_branch,
                "sha": head_sha,
                "user": user(self.fork_owner or self.repo.split("/")[0], "Organization"),
                "repo": repository(
                    f"{self.fork_owner}/{self.repo.split('/')[1]}" if self.fork_owner else self.repo
                ),
            },
            "base": {
                "label": f"{self.repo.split('/')[0]}:{self.base_branch}",
                "ref": self.base_branch,
                "sha": sha(f"{self.repo}:{self.base_branch}"),
                "user": user(self.repo.split("/")[0], "Organization"),
                "repo": repository(self.repo),
            },
            "_links": {
                "self": {"href": f"{base}/pulls/{self.number}"},
                "html": {"href": f"{WEB}/{self.repo}/pull/{self.number}"},
                "issue": {"href": f"{base}/issues/{self.number}"},
                "comments": {"href": f"{base}/issues/{self.number}/comments"},
                "review_comments": {"href": f"{base}/pulls/{self.number}/comments"},
                "review_comment": {"href": f"{base}/pulls/comments{{/number}}"},
                "commits": {"href": f"{base}/pulls/{self.number}/commits"},
                "statuses": {"href": f"{base}/statuses/{head_sha}"},
            },
            "author_association": "MEMBER",
            "auto_merge": None,
            "active_lock_reason": None,
            "draft": self.draft,
            "merged": self.merged_at is not None,
            "mergeable": None,
            "rebaseable": None,
            "mergeable_state": "unknown",
            "merged_by": user("octocat") if self.merged_at else None,
            "comments": 0,
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": 10,
            "deletions": 2,
            "changed_files": 1,
        }


def pull_request_event(action: str, pr: PullRequestState) -> dict[str, Any]:
    return {
        "action": action,
        "number": pr.number,
        "pull_request": pr.payload(),
        "repository": repository(pr.repo),
        "sender": user(pr.author, pr.author_type),
    }


def review_event(
    action: str,
    pr: PullRequestState,
    review_id: int,
    reviewer: str = "reviewer-1",
    state: str = "approved",
    submitted_at: str = "2026-11-16T12:00:00Z",
    reviewer_type: str = "User",
) -> dict[str, Any]:
    base = f"{API}/repos/{pr.repo}"
    return {
        "action": action,
        "review": {
            "id": review_id,
            "node_id": "MDE3OlB1bGxSZXF1ZXN0UmV2aWV3MjM3ODk1Njcx",
            "user": user(reviewer, reviewer_type),
            "body": None,
            "commit_id": pr.head_sha or sha(f"{pr.repo}#{pr.number}:head"),
            "submitted_at": submitted_at,
            "state": state,
            "html_url": f"{WEB}/{pr.repo}/pull/{pr.number}#pullrequestreview-{review_id}",
            "pull_request_url": f"{base}/pulls/{pr.number}",
            "author_association": "MEMBER",
            "_links": {
                "html": {"href": f"{WEB}/{pr.repo}/pull/{pr.number}#pullrequestreview"},
                "pull_request": {"href": f"{base}/pulls/{pr.number}"},
            },
        },
        "pull_request": pr.payload(),
        "repository": repository(pr.repo),
        "sender": user(reviewer, reviewer_type),
    }


def push_event(
    repo: str,
    branch: str,
    commits: list[tuple[str, str]],
    author: str = "octocat",
    ref: str | None = None,
    deleted: bool = False,
) -> dict[str, Any]:
    """`commits`: (sha, author timestamp) pairs, oldest first."""
    rendered = [
        {
            "id": commit_sha,
            "tree_id": sha(commit_sha + "tree"),
            "distinct": True,
            "message": "Work in progress",
            "timestamp": at,
            "url": f"{WEB}/{repo}/commit/{commit_sha}",
            "author": {"name": author, "email": f"{author}@example.com", "username": author},
            "committer": {"name": author, "email": f"{author}@example.com", "username": author},
            "added": [],
            "removed": [],
            "modified": ["README.md"],
        }
        for commit_sha, at in commits
    ]
    after = commits[-1][0] if commits else "0" * 40
    return {
        "ref": ref or f"refs/heads/{branch}",
        "before": sha(f"{repo}:{branch}:before"),
        "after": "0" * 40 if deleted else after,
        "created": False,
        "deleted": deleted,
        "forced": False,
        "base_ref": None,
        "compare": f"{WEB}/{repo}/compare/{after[:12]}",
        "commits": rendered,
        "head_commit": rendered[-1] if rendered else None,
        "repository": repository(repo),
        "pusher": {"name": author, "email": f"{author}@example.com"},
        "sender": user(author),
    }


def deployment_status_event(
    repo: str,
    deployment_id: int,
    state: str,
    environment: str = "production",
    created_at: str = "2026-11-17T10:00:00Z",
    deployed_sha: str | None = None,
) -> dict[str, Any]:
    base = f"{API}/repos/{repo}"
    return {
        "action": "created",
        "deployment_status": {
            "url": f"{base}/deployments/{deployment_id}/statuses/{next(_ids)}",
            "id": next(_ids),
            "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMyMDk5MTYyNTQ=",
            "state": state,
            "creator": user("deploy-bot[bot]", "Bot"),
            "description": "",
            "environment": environment,
            "target_url": "",
            "created_at": created_at,
            "updated_at": created_at,
            "deployment_url": f"{base}/deployments/{deployment_id}",
            "repository_url": base,
        },
        "deployment": {
            "url": f"{base}/deployments/{deployment_id}",
            "id": deployment_id,
            "node_id": "MDEwOkRlcGxveW1lbnQxNDU5ODg3NDY=",
            "sha": deployed_sha or sha(f"{repo}:deploy:{deployment_id}"),
            "ref": "main",
            "task": "deploy",
            "payload": {},
            "original_environment": environment,
            "environment": environment,
            "description": None,
            "creator": user("deploy-bot[bot]", "Bot"),
            "created_at": created_at,
            "updated_at": created_at,
            "statuses_url": f"{base}/deployments/{deployment_id}/statuses",
            "repository_url": base,
        },
        "repository": repository(repo),
        "sender": user("deploy-bot[bot]", "Bot"),
    }


def ping_event(repo: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "zen": "Keep it logically awesome.",
        "hook_id": 109948940,
        "hook": {"type": "Repository", "id": 109948940, "events": ["pull_request", "push"]},
    }
    if repo:
        body["repository"] = repository(repo)
    return body


def signed_headers(
    event: str, body: bytes, secret: str, delivery: str | None = None
) -> dict[str, str]:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
        "X-GitHub-Hook-ID": "109948940",
        "User-Agent": "GitHub-Hookshot/044aadd",
    }


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()
