"""Block Kit limits as Slack documents them, for the fake Slack Web API to refuse what Slack would.

Written from Slack's reference pages (docs.slack.dev/reference/block-kit, .../views), on purpose
without importing anything from `chatbot/`: the fake must judge the bot's blocks independently,
or a broken checker in the bot would be checked against itself and pass.

Each rule returns human-readable errors shaped like Slack's (`must be less than 3001 characters
[json-pointer:/blocks/0/text/text]`); an empty list means Slack would accept the payload.
"""

from __future__ import annotations

from typing import Any

# Per surface.
BLOCKS_PER_MESSAGE = 50
BLOCKS_PER_VIEW = 100  # modals and the App Home tab
MESSAGE_TEXT = 40_000
# Views.
VIEW_TITLE = 24
VIEW_SUBMIT = 24
VIEW_CLOSE = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255
# Blocks.
BLOCK_ID = 255
SECTION_TEXT = 3000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
INPUT_LABEL = 2000
INPUT_HINT = 2000
IMAGE_URL = 3000
IMAGE_ALT_TEXT = 2000
# Elements.
ACTION_ID = 255
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
PLACEHOLDER = 150
TEXT_INPUT_LENGTH = 3000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
SELECT_OPTIONS = 100
OVERFLOW_OPTIONS = 5
CHOICE_OPTIONS = 10  # radio buttons and checkboxes
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30

KNOWN_BLOCKS = {
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "input",
    "image",
    "rich_text",
    "file",
    "video",
    "markdown",
}
SELECTS = {
    "static_select",
    "multi_static_select",
    "external_select",
    "multi_external_select",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "multi_conversations_select",
    "channels_select",
    "multi_channels_select",
}


class _Errors(list[str]):
    def too_long(self, value: Any, limit: int, pointer: str) -> None:
        if value is not None and len(str(value)) > limit:
            self.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}]")

    def too_many(self, items: list[Any], limit: int, pointer: str) -> None:
        if len(items) > limit:
            self.append(f"must contain at most {limit} items [json-pointer:{pointer}]")


def _text_object(
    errors: _Errors, obj: Any, limit: int, pointer: str, plain_only: bool = False
) -> None:
    if obj is None:
        return
    if not isinstance(obj, dict):
        errors.append(f"must be a text object [json-pointer:{pointer}]")
        return
    kind = obj.get("type")
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    if kind not in allowed:
        errors.append(f"must be one of {sorted(allowed)} [json-pointer:{pointer}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or text == "":
        errors.append(f"must be a non-empty string [json-pointer:{pointer}/text]")
        return
    errors.too_long(text, limit, f"{pointer}/text")


def _options(errors: _Errors, element: dict[str, Any], limit: int, pointer: str) -> None:
    groups = element.get("option_groups") or []
    options = list(element.get("options") or [])
    for group in groups:
        options.extend(group.get("options") or [])
    errors.too_many(options, limit, f"{pointer}/options")
    for i, option in enumerate(options):
        where = f"{pointer}/options/{i}"
        _text_object(errors, option.get("text"), OPTION_TEXT, f"{where}/text")
        errors.too_long(option.get("value"), OPTION_VALUE, f"{where}/value")
        _text_object(errors, option.get("description"), OPTION_DESCRIPTION, f"{where}/description")


def _confirm(errors: _Errors, confirm: Any, pointer: str) -> None:
    if not isinstance(confirm, dict):
        return
    _text_object(errors, confirm.get("title"), CONFIRM_TITLE, f"{pointer}/title", plain_only=True)
    _text_object(errors, confirm.get("text"), CONFIRM_TEXT, f"{pointer}/text")
    for key in ("confirm", "deny"):
        _text_object(errors, confirm.get(key), CONFIRM_BUTTON, f"{pointer}/{key}", plain_only=True)


def _element(errors: _Errors, element: Any, pointer: str) -> None:
    if not isinstance(element, dict):
        errors.append(f"must be an object [json-pointer:{pointer}]")
        return
    kind = element.get("type")
    errors.too_long(element.get("action_id"), ACTION_ID, f"{pointer}/action_id")
    _text_object(
        errors, element.get("placeholder"), PLACEHOLDER, f"{pointer}/placeholder", plain_only=True
    )
    _confirm(errors, element.get("confirm"), f"{pointer}/confirm")
    if kind == "button":
        _text_object(errors, element.get("text"), BUTTON_TEXT, f"{pointer}/text", plain_only=True)
        errors.too_long(element.get("value"), BUTTON_VALUE, f"{pointer}/value")
        errors.too_long(element.get("url"), BUTTON_URL, f"{pointer}/url")
        if element.get("style") not in (None, "primary", "danger"):
            errors.append(f"must be primary or danger [json-pointer:{pointer}/style]")
    elif kind in SELECTS:
        _options(errors, element, SELECT_OPTIONS, pointer)
    elif kind == "overflow":
        _options(errors, element, OVERFLOW_OPTIONS, pointer)
    elif kind in {"radio_buttons", "checkboxes"}:
        _options(errors, element, CHOICE_OPTIONS, pointer)
    elif kind == "plain_text_input":
        if int(element.get("max_length") or 0) > TEXT_INPUT_LENGTH:
            where = f"{pointer}/max_length"
            errors.append(f"must be at most {TEXT_INPUT_LENGTH} [json-pointer:{where}]")
        errors.too_long(element.get("initial_value"), TEXT_INPUT_LENGTH, f"{pointer}/initial_value")
    elif kind == "image":
        errors.too_long(element.get("image_url"), IMAGE_URL, f"{pointer}/image_url")
        errors.too_long(element.get("alt_text"), IMAGE_ALT_TEXT, f"{pointer}/alt_text")


def _section(errors: _Errors, block: dict[str, Any], pointer: str) -> None:
    fields = block.get("fields")
    if block.get("text") is None and not fields:
        errors.append(f"must provide text or fields [json-pointer:{pointer}]")
    _text_object(errors, block.get("text"), SECTION_TEXT, f"{pointer}/text")
    if fields:
        errors.too_many(fields, SECTION_FIELDS, f"{pointer}/fields")
        for i, field in enumerate(fields):
            _text_object(errors, field, SECTION_FIELD_TEXT, f"{pointer}/fields/{i}")
    if block.get("accessory") is not None:
        _element(errors, block["accessory"], f"{pointer}/accessory")


def _block(errors: _Errors, block: Any, pointer: str) -> None:
    if not isinstance(block, dict):
        errors.append(f"must be an object [json-pointer:{pointer}]")
        return
    kind = block.get("type")
    errors.too_long(block.get("block_id"), BLOCK_ID, f"{pointer}/block_id")
    if kind not in KNOWN_BLOCKS:
        errors.append(f"unsupported type {kind!r} [json-pointer:{pointer}/type]")
    elif kind == "section":
        _section(errors, block, pointer)
    elif kind == "header":
        _text_object(errors, block.get("text"), HEADER_TEXT, f"{pointer}/text", plain_only=True)
        if block.get("text") is None:
            errors.append(f"must provide text [json-pointer:{pointer}/text]")
    elif kind in {"context", "actions"}:
        elements = block.get("elements") or []
        limit = CONTEXT_ELEMENTS if kind == "context" else ACTIONS_ELEMENTS
        if not elements:
            errors.append(f"must contain at least 1 item [json-pointer:{pointer}/elements]")
        errors.too_many(elements, limit, f"{pointer}/elements")
        for i, element in enumerate(elements):
            where = f"{pointer}/elements/{i}"
            if kind == "context" and isinstance(element, dict) and "text" in element:
                _text_object(errors, element, SECTION_TEXT, where)
            else:
                _element(errors, element, where)
    elif kind == "input":
        if block.get("label") is None:
            errors.append(f"must provide a label [json-pointer:{pointer}/label]")
        _text_object(errors, block.get("label"), INPUT_LABEL, f"{pointer}/label", plain_only=True)
        _text_object(errors, block.get("hint"), INPUT_HINT, f"{pointer}/hint", plain_only=True)
        if block.get("element") is None:
            errors.append(f"must provide an element [json-pointer:{pointer}/element]")
        else:
            _element(errors, block["element"], f"{pointer}/element")
    elif kind == "image":
        _element(errors, {**block, "type": "image"}, pointer)


def _blocks(errors: _Errors, blocks: Any, limit: int) -> None:
    if blocks is None:
        return
    if not isinstance(blocks, list):
        errors.append("must be an array [json-pointer:/blocks]")
        return
    errors.too_many(blocks, limit, "/blocks")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            if block_id in seen:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:/blocks/{i}]")
            seen.add(block_id)
        _block(errors, block, f"/blocks/{i}")


def message_errors(text: Any, blocks: Any) -> list[str]:
    """What Slack says about a chat.postMessage / chat.update / response_url message."""
    errors = _Errors()
    if not text and not blocks:
        errors.append("no_text: a message needs text or blocks")
    errors.too_long(text, MESSAGE_TEXT, "/text")
    _blocks(errors, blocks, BLOCKS_PER_MESSAGE)
    return list(errors)


def view_errors(view: Any) -> list[str]:
    """What Slack says about a view given to views.open / push / update / publish."""
    errors = _Errors()
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    kind = view.get("type")
    if kind not in {"modal", "home"}:
        errors.append("must be modal or home [json-pointer:/view/type]")
    if kind == "modal":
        if view.get("title") is None:
            errors.append("must provide a title [json-pointer:/view/title]")
        _text_object(errors, view.get("title"), VIEW_TITLE, "/view/title", plain_only=True)
        _text_object(errors, view.get("submit"), VIEW_SUBMIT, "/view/submit", plain_only=True)
        _text_object(errors, view.get("close"), VIEW_CLOSE, "/view/close", plain_only=True)
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_input and view.get("submit") is None:
            errors.append("a modal with input blocks must provide submit [json-pointer:/view]")
    errors.too_long(view.get("private_metadata"), PRIVATE_METADATA, "/view/private_metadata")
    errors.too_long(view.get("callback_id"), CALLBACK_ID, "/view/callback_id")
    if view.get("blocks") is None:
        errors.append("must provide blocks [json-pointer:/view/blocks]")
    _blocks(errors, view.get("blocks"), BLOCKS_PER_VIEW)
    return list(errors)
