"""Reads for the class page (docs/classroom.md): every student's sandbox at a glance, its
health and a thumbnail of its nodes and pods. Three queries whatever the class size."""

from __future__ import annotations

from cluster import k8s
from cluster.lesson import Lesson, LessonError
from cluster.lesson_catalog import lesson_find
from cluster.models import Classroom, Cluster, KubeObject, Student
from cluster.services.lessons import goal_check

#: Pod phases as the thumbnail colours them (the dashboard's legend).
PHASE_CLASS = {"Running": "ok", "Pending": "wait", "Succeeded": "done", "Failed": "bad"}


def classroom_overview(*, classroom: Classroom) -> list[dict]:
    """One row per student: their sandbox (if handed out) with ready nodes, running pods and,
    per node, its pods' states for the thumbnail."""
    sandboxes = {
        c.sandbox_of_id: c for c in Cluster.objects.filter(sandbox_of__classroom=classroom)
    }
    ids = [c.pk for c in sandboxes.values()]
    nodes: dict[int, dict[str, dict]] = {cid: {} for cid in ids}
    for cid, name, body in (
        KubeObject.objects.filter(cluster_id__in=ids, kind="Node")
        .order_by("name")
        .values_list("cluster_id", "name", "body")
    ):
        ready = k8s.node_ready_status(body) == "True"
        nodes[cid][name] = {"name": name, "ready": ready, "pods": []}
    pods: dict[int, list[tuple[str, str, bool]]] = {cid: [] for cid in ids}
    for cid, node, phase, deleting in KubeObject.objects.filter(
        cluster_id__in=ids, kind="Pod"
    ).values_list("cluster_id", "node_name", "phase", "deleting"):
        pods[cid].append((node, phase, deleting))
        state = "term" if deleting else PHASE_CLASS.get(phase, "wait")
        if node in nodes[cid]:
            nodes[cid][node]["pods"].append(state)
    lessons: dict[str, Lesson | None] = {}
    rows = []
    for student in classroom.students.all():
        sandbox = sandboxes.get(student.pk)
        row: dict = {"student": student.display_name, "sandbox": sandbox}
        if sandbox is not None:
            mine = pods[sandbox.pk]
            node_list = list(nodes[sandbox.pk].values())
            running = sum(1 for _, phase, deleting in mine if phase == "Running" and not deleting)
            pending = sum(1 for node, phase, _ in mine if phase == "Pending" and not node)
            row.update(goal=_goal(sandbox, lessons))
            row.update(
                nodes=node_list,
                ready_nodes=sum(1 for n in node_list if n["ready"]),
                running=running,
                pods=len(mine),
                unscheduled=pending,
                healthy=all(n["ready"] for n in node_list) and running == len(mine),
            )
        rows.append(row)
    return rows


def _goal(sandbox: Cluster, lessons: dict[str, Lesson | None]) -> dict | None:
    """The lesson's goal checked against a sandbox (the teacher's "check each against the
    goal"): how many checks hold, and each one's text."""
    if not sandbox.lesson:
        return None
    if sandbox.lesson not in lessons:
        try:
            lessons[sandbox.lesson] = lesson_find(sandbox.lesson)
        except LessonError:
            lessons[sandbox.lesson] = None
    lesson = lessons[sandbox.lesson]
    if lesson is None:
        return None
    results = goal_check(cluster=sandbox, lesson=lesson)
    return {
        "met": all(r.ok for r in results),
        "passed": sum(r.ok for r in results),
        "total": len(results),
        "lines": [f"{'✓' if r.ok else '✗'} {r.text}" for r in results],
    }


def sandbox_labels(clusters: list[Cluster], *, student_id: int | None) -> dict[int, str]:
    """How the cluster switcher names sandboxes: "my sandbox" for its student, "sandbox:
    <name>" for the teacher; other clusters keep their name."""
    owners = {c.sandbox_of_id for c in clusters if c.sandbox_of_id is not None}
    names = dict(Student.objects.filter(pk__in=owners).values_list("pk", "display_name"))
    labels = {}
    for c in clusters:
        if c.sandbox_of_id is None:
            labels[c.pk] = c.name
        elif c.sandbox_of_id == student_id:
            labels[c.pk] = "my sandbox"
        else:
            labels[c.pk] = f"sandbox: {names.get(c.sandbox_of_id, '?')}"
    return labels
