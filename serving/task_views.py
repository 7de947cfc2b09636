"""Task store rows (:mod:`serving.task_store`) as response models (:mod:`serving.schemas.tasks`)."""

from __future__ import annotations

from typing import Any

from recsys.core.workflows.tasks import DeliverableState, next_states
from serving.schemas import tasks as schema
from serving.task_store import aware, fen_text


def creator_view(entry: dict[str, Any]) -> schema.TaskCreatorPublic:
    return schema.TaskCreatorPublic(
        task_id=entry["task_id"],
        creator_id=entry["creator_id"],
        source=entry["source"],
        status=entry["status"],
        note=entry["note"],
        created_at=aware(entry["created_at"]),
        answered_at=aware(entry["answered_at"]),
    )


def task_view(
    record: dict[str, Any], creators: list[dict[str, Any]], pool_rank: int | None = None
) -> schema.TaskDetail:
    """The task with the creator entries the caller may see (``creators``, already filtered)."""
    fee = record["fee_per_deliverable_fen"]
    return schema.TaskDetail(
        task_id=record["task_id"],
        merchant_id=record["merchant_id"],
        title=record["title"],
        status=record["status"],
        goal=record["goal"],
        product_ids=list(record["product_ids"]),
        deliverables=[schema.DeliverableLine(**line) for line in record["deliverables"]],
        brief=record["brief"],
        talking_points=list(record["talking_points"]),
        required_terms=list(record["required_terms"]),
        forbidden_terms=list(record["forbidden_terms"]),
        disclosure_required=bool(record["disclosure_required"]),
        milestones=[schema.Milestone(**m) for m in record["milestones"]],
        fee_per_deliverable=None if fee is None else fen_text(int(fee)),
        target_profile=schema.TargetProfile(**record["target_profile"]),
        starts_at=aware(record["starts_at"]),
        ends_at=aware(record["ends_at"]),
        created_at=aware(record["created_at"]),
        creators=[creator_view(c) for c in creators],
        pool_rank=pool_rank,
    )


def deliverable_view(record: dict[str, Any]) -> schema.DeliverablePublic:
    state = DeliverableState(record["state"])
    return schema.DeliverablePublic(
        deliverable_id=record["deliverable_id"],
        task_id=record["task_id"],
        creator_id=record["creator_id"],
        format=record["format"],
        unit=int(record["unit"]),
        live_minutes=record["live_minutes"],
        state=state,
        next_states=next_states(state),
        fee=fen_text(int(record["fee_fen"])),
        passed_qa_at=aware(record["passed_qa_at"]),
        history=[
            schema.Transition(
                from_state=step["from_state"],
                to_state=step["to_state"],
                at=aware(step["at"]),
                actor=step["actor"],
                submission_id=step["submission_id"],
                reasons=list(step["reasons"] or []),
            )
            for step in record.get("history", [])
        ],
    )


def submission_view(record: dict[str, Any], deliverable_state: str | None = None) -> schema.SubmissionPublic:
    findings = [schema.FindingPublic(**f) for f in record["findings"]]
    return schema.SubmissionPublic(
        submission_id=record["submission_id"],
        task_id=record["task_id"],
        deliverable_id=record["deliverable_id"],
        creator_id=record["creator_id"],
        stage=record["stage"],
        text=record["text"],
        content_link=record["content_link"],
        findings=findings,
        passed=not findings,
        rules_version=record["rules_version"],
        decision=record["decision"],
        reasons=list(record["reasons"] or []),
        submitted_at=aware(record["submitted_at"]),
        decided_at=aware(record["decided_at"]),
        deliverable_state=None if deliverable_state is None else DeliverableState(deliverable_state),
    )
