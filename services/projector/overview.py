"""Every answer the check API would give about one subject: per purpose (marketing per channel) and per data category.

The questions come from the contract's vocabularies (schemas.command_fields), in their order. No
rule reads the system that asks, so every question is asked as the one system CONSOLE: the answers
hold for any system. Pure, like the rules: the caller gives the state and the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import get_args

from schemas.command_fields import CATEGORIES, CHANNELS, PURPOSES
from services.projector.decisions import MARKETING, Decision, Question, State, decide

CONSOLE = "console"
PURPOSE_ORDER: tuple[str, ...] = get_args(PURPOSES)
CHANNEL_ORDER: tuple[str, ...] = get_args(CHANNELS)
CATEGORY_ORDER: tuple[str, ...] = get_args(CATEGORIES)


@dataclass(frozen=True)
class Answered:
    """A question about the subject and the decision it gets."""

    question: Question
    decision: Decision


@dataclass(frozen=True)
class Overview:
    """The answers per purpose (marketing once per channel) and per data category."""

    purposes: list[Answered]
    categories: list[Answered]


def purpose_questions() -> list[Question]:
    """One question per purpose, in vocabulary order; marketing once per channel, as a campaign would ask it."""
    return [
        Question(CONSOLE, purpose, channel=channel)
        for purpose in PURPOSE_ORDER
        for channel in (CHANNEL_ORDER if purpose == MARKETING else (None,))
    ]


def category_purpose(state: State | None) -> str:
    """The purpose a category is asked for: the first of the vocabulary the consent covers, else the first of all."""
    covered = set(state["consent"]["purposes"]) if state is not None and state["consent"] is not None else set()
    return next((purpose for purpose in PURPOSE_ORDER if purpose in covered), PURPOSE_ORDER[0])


def category_questions(state: State | None) -> list[Question]:
    """One question per data category, in vocabulary order, each for `category_purpose` and that category alone."""
    purpose = category_purpose(state)
    return [Question(CONSOLE, purpose, categories=(category,)) for category in CATEGORY_ORDER]


def overview(state: State | None, today: date) -> Overview:
    """Every purpose's and every category's answer for the subject in `state` on `today`."""

    def answered(questions: list[Question]) -> list[Answered]:
        return [Answered(question, decide(state, question, today)) for question in questions]

    return Overview(answered(purpose_questions()), answered(category_questions(state)))
