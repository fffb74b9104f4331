"""A case's history rendered as a timeline a person can read."""

from __future__ import annotations

from typing import Any

BUSINESS_DATE = {
    "Referred": "received_on",
    "Assessed": "assessed_on",
    "Discussed": "discussed_on",
    "ActionAgreed": "agreed_on",
    "ActionRescheduled": "rescheduled_on",
    "ActionCompleted": "completed_on",
    "ActionCancelled": "cancelled_on",
    "ReviewScheduled": "scheduled_on",
    "Reviewed": "reviewed_on",
    "Closed": "closed_on",
    "Reopened": "reopened_on",
    "ReminderSent": "sent_on",
    "PersonalDataErased": "erased_on",
}


def _short(value: Any) -> str:
    return str(value)[:8] if value else "-"


def headline(kind: str, d: dict[str, Any], n: int) -> str:
    match kind:
        case "Referred":
            return (
                f"Concern received ({d['target_group']}) from {d['referred_by']}, "
                f"legal basis {d['legal_basis']}"
            )
        case "Assessed":
            return f"Assessed: {d['decision']}"
        case "Discussed":
            return f"Discussed at meeting {_short(d['meeting_id'])}"
        case "ActionAgreed":
            return f"Action #{n} agreed: {d['kind']}, owner {d['responsible_org']}, due {d['due_on']}"
        case "ActionRescheduled":
            return f"Action #{n} rescheduled to {d['due_on']}"
        case "ActionCompleted":
            return f"Action #{n} completed"
        case "ActionCancelled":
            return f"Action #{n} cancelled"
        case "ReminderSent":
            return f"Reminder sent: {d['rule']} to {d['recipient_org']} ({d['channel']})"
        case "ReviewScheduled":
            return f"Review scheduled for {d['review_on']}"
        case "Closed":
            later = d.get("post_closure_review_on")
            return f"Closed: {d['reason']}" + (f", post-closure review {later}" if later else "")
    return {
        "Reviewed": "Reviewed",
        "Reopened": "Reopened",
        "PersonalDataErased": "Personal data erased (the subject's key was destroyed)",
    }.get(kind, kind)


def describe(entry: dict[str, Any], actions: dict[str, int]) -> str:
    kind, d = entry["type"], entry["data"]
    if "action_id" in d and d["action_id"] not in actions:
        actions[d["action_id"]] = len(actions) + 1
    n = actions.get(d.get("action_id", ""), 0)
    text = headline(kind, d, n)
    details = [
        d[field]
        for field in ("concern", "judgement", "description", "outcome", "reason", "summary", "notes")
        if isinstance(d.get(field), str) and d[field] and not (kind == "Closed" and field == "reason")
    ]
    if kind == "Referred" and isinstance(d.get("subject"), dict):
        details.insert(0, f"subject: {d['subject']['name']}")
    line = f"{d.get(BUSINESS_DATE.get(kind, ''), ''):<10}  {text}"
    for detail in details:
        line += f"\n{'':<12}  “{detail}”"
    return line


def render(case: dict[str, Any], history: list[dict[str, Any]], *, personal: bool) -> str:
    lines = [
        f"Case {case['id']}  ({case['target_group']}, status {case['status']}, version {case['version']})",
        f"Forum {case['forum_id']}",
        "",
    ]
    actions: dict[str, int] = {}
    for entry in history:
        lines.append(describe(entry, actions))
        lines.append(f"{'':<12}  [v{entry['version']} recorded {entry['recorded_at'][:19]}]")
    if not personal:
        lines += ["", "Personal data is not shown. State a purpose with --purpose to include it."]
    return "\n".join(lines)
