"""Label Studio labeling configs, one per dataset config (record family and image count):
what the expert sees and the controls they answer with.

Every config shows the image(s) with the weak boxes pre-annotated (predictions), the phrase
and its context, a required decision (accept / correct / reject), a rejection reason shown
when "reject" is chosen, and a free comment. The rectangle labels are the record's slots
(``annotation.items``): "question", "answer", and for chains of thought one per step.

- grounding: one image.
- sequence_<n>img: n images side by side (prior / current, or n views), a box tool per image.
- cot: one image, a box per step of the chain, the steps listed beside it.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from annotation.items import ANSWER, MAX_COT_STEPS, QUESTION, step_slot

DECISION = "decision"  # Choices: accept / correct / reject
REASON = "reason"  # Choices shown for reject
COMMENT = "comment"  # TextArea
DECISIONS = ("accept", "correct", "reject")
REJECT_REASONS = (
    "wrong_finding",  # the phrase does not describe what is in the box
    "not_visible",  # the finding cannot be seen on this image
    "wrong_image",  # wrong study, side, laterality or image of a sequence
    "image_quality",  # the image cannot be read
    "other",
)
SLOT_COLOURS = {QUESTION: "#1e88e5", ANSWER: "#e53935"}
STEP_COLOURS = ("#43a047", "#fb8c00", "#8e24aa", "#00897b", "#fdd835", "#6d4c41", "#3949ab")


def image_name(family: str, index: int) -> str:
    """The ``<Image>`` tag name of image ``index``: ``image`` or ``img0``, ``img1``..."""
    return "image" if family != "sequence" else f"img{index}"


def box_tool_name(family: str, index: int) -> str:
    """The ``<RectangleLabels>`` tag name for image ``index``: ``box`` or ``box0``..."""
    return "box" if family != "sequence" else f"box{index}"


def image_index_of(tag_name: str) -> int:
    """Inverse of ``image_name`` / ``box_tool_name``: the image index a tag is about."""
    digits = tag_name.lstrip("abcdefghijklmnopqrstuvwxyz_")
    return int(digits) if digits else 0


def slot_labels(family: str) -> list[str]:
    labels = [QUESTION, ANSWER]
    if family == "cot":
        labels += [step_slot(i) for i in range(MAX_COT_STEPS)]
    return labels


def _colour(slot: str) -> str:
    if slot in SLOT_COLOURS:
        return SLOT_COLOURS[slot]
    return STEP_COLOURS[(int(slot.split("-")[1]) - 1) % len(STEP_COLOURS)]


def _box_tool(family: str, index: int) -> str:
    labels = "".join(
        f"<Label value={quoteattr(s)} background={quoteattr(_colour(s))}/>"
        for s in slot_labels(family)
    )
    return (
        f'<RectangleLabels name="{box_tool_name(family, index)}" '
        f'toName="{image_name(family, index)}" strokeWidth="3">{labels}</RectangleLabels>'
    )


def _controls(first_image: str) -> str:
    decisions = "".join(f'<Choice value="{d}"/>' for d in DECISIONS)
    reasons = "".join(f'<Choice value="{r}"/>' for r in REJECT_REASONS)
    return (
        '<Header value="Is the box right for the phrase?" size="5"/>'
        f'<Choices name="{DECISION}" toName="{first_image}" choice="single" required="true" '
        f'showInline="true">{decisions}</Choices>'
        f'<View visibleWhen="choice-selected" whenTagName="{DECISION}" whenChoiceValue="reject">'
        f'<Header value="Why reject?" size="6"/>'
        f'<Choices name="{REASON}" toName="{first_image}" choice="single" showInline="true">'
        f"{reasons}</Choices></View>"
        f'<TextArea name="{COMMENT}" toName="{first_image}" editable="true" maxSubmissions="1" '
        'rows="2" placeholder="Comment (why a correction or a rejection)"/>'
    )


def n_images_of(config: str) -> int:
    if config.startswith("sequence_") and config.endswith("img"):
        return int(config[len("sequence_") : -len("img")])
    return 1


def family_of(config: str) -> str:
    return "sequence" if config.startswith("sequence_") else config


def labeling_config(config: str) -> str:
    """The labeling config XML of a dataset config (``grounding``, ``cot``,
    ``sequence_<n>img``)."""
    family, n = family_of(config), n_images_of(config)
    context = (
        '<Header value="$phrase" size="4"/>'
        '<Text name="context" value="$context" granularity="symbol"/>'
    )
    if family == "sequence":
        images = "".join(
            f'<View style="flex: 1; min-width: 0">'
            f'<Header value="$img{i}_title" size="6"/>'
            f'<Image name="{image_name(family, i)}" value="$img{i}" zoom="true" '
            f'zoomControl="true"/>{_box_tool(family, i)}</View>'
            for i in range(n)
        )
        body = f'<View style="display: flex; gap: 8px">{images}</View>'
    else:
        body = (
            f'<Image name="image" value="$image" zoom="true" zoomControl="true"/>'
            f"{_box_tool(family, 0)}"
        )
    steps = '<Text name="steps" value="$steps"/>' if family == "cot" else ""
    return f"<View>{context}{body}{steps}{_controls(image_name(family, 0))}</View>"
