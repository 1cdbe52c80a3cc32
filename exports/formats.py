"""One record -> one item of each export format. Record text writes boxes as 0-1000
``[x1, y1, x2, y2]`` (``Box.to_text``); exports re-render each of the record's boxes in the
target's own notation, from the structured boxes, never by parsing numbers."""

from __future__ import annotations

from collections.abc import Callable

from exports.resize import Frame
from schemas.boxes import QWEN_REF_END, QWEN_REF_START, Box
from schemas.vocab import phrase

BoxRenderer = Callable[[Box, int, int], str]
NO_RESIZE = Frame()

# The task names MedSG-Bench's evaluation script filters test items on (its --task choices:
# item["task"] == name). Ours are spelled the same, so test items keep them; note that the
# benchmark's training data names the cross-modal file cross_modal.json (dataset_info entry
# MedSG_crossmodal): a file name, not a task value. tests/exports checks the two lists agree.
MEDSG_BENCH_TASKS = (
    "Registered_Diff",
    "Non_Registered_Diff",
    "multi_view",
    "object_tracking",
    "concept",
    "patch",
    "crossmodal",
    "referring",
)


def _sizes(record: dict) -> list[tuple[int, int]]:
    images = record["images"] if "images" in record else [record["image"]]
    return [(im["width"], im["height"]) for im in images]


def _boxes(record: dict, *fields: str) -> list[tuple[Box, int]]:
    """(box, image index) of the named box fields, in order."""
    out = []
    for name in fields:
        for b in record.get(name) or []:
            out.append((Box(b["x1"], b["y1"], b["x2"], b["y2"]), int(b.get("image_index", 0))))
    return out


def render(
    text: str,
    boxes: list[tuple[Box, int]],
    sizes: list[tuple[int, int]],
    fn: BoxRenderer,
    frame: Frame = NO_RESIZE,
) -> str:
    """Replace each box's 0-1000 text form in ``text`` by ``fn(box, width, height)``, the
    box and size taken in the frame the model sees (``frame``)."""
    for box, index in boxes:
        width, height = sizes[index]
        text = text.replace(
            box.to_text(), fn(frame.box(box, width, height), *frame.target_size(width, height)), 1
        )
    return text


def pixels_text(box: Box, width: int, height: int) -> str:
    return "[{}, {}, {}, {}]".format(*box.to_int_pixels(width, height))


def qwen_text(box: Box, width: int, height: int) -> str:
    return box.to_qwen_tokens(width, height)


def unit_text(box: Box, width: int, height: int) -> str:
    return "[{:.3f}, {:.3f}, {:.3f}, {:.3f}]".format(*box.as_list())


def _question_answer(record: dict, fn: BoxRenderer, frame: Frame = NO_RESIZE) -> tuple[str, str]:
    sizes = _sizes(record)
    question = render(record["question"], _boxes(record, "question_boxes"), sizes, fn, frame)
    answer = render(record["answer"], _boxes(record, "answer_boxes"), sizes, fn, frame)
    return question, answer


def medsg_item(record: dict, image_paths: list[str], frame: Frame = NO_RESIZE) -> dict | None:
    """MedSG-Bench test item ``{"task", "images", "question", "answer": [x1, y1, x2, y2],
    "size": [width, height]}`` (absolute pixels of the answer's image in ``frame``; the
    eight MedSG tasks spelled as the benchmark's scripts filter them), or None when the
    record's answer is not exactly one box. ``size`` is what the benchmark's scripts read
    for ``multi_view``; ``id``, ``answer_image``, ``width`` and ``height`` ride along for
    ``medsg eval``."""
    answer = _boxes(record, "answer_boxes")
    if len(answer) != 1:
        return None
    box, index = answer[0]
    width, height = _sizes(record)[index]
    tw, th = frame.target_size(width, height)
    question, _ = _question_answer(record, pixels_text, frame)
    return {
        "id": record["record_id"],
        "task": record["task"],
        "images": image_paths,
        "question": question,
        "answer": list(frame.box(box, width, height).to_int_pixels(tw, th)),
        "size": [tw, th],
        "answer_image": index,
        "width": tw,
        "height": th,
    }


def _with_object_ref(question: str, label: str | None) -> str:
    if not label:
        return question
    words = phrase(label)
    if words in question:
        return question.replace(words, f"{QWEN_REF_START}{words}{QWEN_REF_END}", 1)
    return question


def sharegpt_item(record: dict, image_paths: list[str], frame: Frame = NO_RESIZE) -> dict:
    """LLaMA-Factory sharegpt with Qwen tokens (absolute pixels of ``frame``), shaped like
    MedSG-188K's Task8_mini.json."""
    question, answer = _question_answer(record, qwen_text, frame)
    question = _with_object_ref(question, record.get("label"))
    return {
        "id": record["record_id"],
        "task": record["task"],
        "images": image_paths,
        "conversations": [
            {"from": "human", "value": "<image>\n" * len(image_paths) + question},
            {"from": "gpt", "value": answer},
        ],
    }


def llava_item(record: dict, image_paths: list[str], frame: Frame = NO_RESIZE) -> dict:
    """LLaVA conversation JSON; boxes as 0-1 floats with three decimals (LLaVA-1.5 style),
    of the image in ``frame`` (only letterboxing moves them)."""
    question, answer = _question_answer(record, unit_text, frame)
    return {
        "id": record["record_id"],
        "image": image_paths[0] if len(image_paths) == 1 else image_paths,
        "conversations": [
            {"from": "human", "value": "<image>\n" * len(image_paths) + question},
            {"from": "gpt", "value": answer},
        ],
    }
