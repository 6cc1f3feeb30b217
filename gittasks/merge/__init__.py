"""Field-level three-way merge of task files (docs/task-format.md, "Merge" and "Conflicts").

Pure: plain parsed JSON in, plain JSON out, no I/O. Used by `sync`, the git merge driver and the repair of a
line-merged file. Every decision is a function of the two sides' data only, never of which side is "ours", so the
canonical bytes of the result are the same whichever side git calls ours (it swaps them during a rebase).

Beyond docs/task-format.md, three decisions of this module:
- dependencies (or parents) that each side added without a cycle but that close one together are a conflict: the
  later one-sided link is dropped and recorded (`kind: "cycle"`), because the rest of gittasks refuses cyclic files;
- work items (`.claude/tasks/work-items/*.jsonl`) are keyed by their `id`: one task completed on two machines is
  billed once (the earlier record is kept);
- the stamps of one transition made on both sides (both moved a task to the same status: `started_at`,
  `completed_at` set at different moments) keep the earlier moment without a conflict record, as the work item does.

The package, by layer: `values` (one value, the side rules), `links` (symmetry and cycles), `tasks` (a task, lists
of tasks, documents), `files` (bytes of one file, all task files of a version). It imports only the standard
library, orjson, `rules`, `document` and `taskset`; `merge3` is imported lazily by the text merge.
"""

from __future__ import annotations

from gittasks.merge.files import Merged, incoming, merge_bytes, merge_task_files
from gittasks.merge.tasks import MergeResult, merge_documents, merge_task_lists
from gittasks.merge.values import MISSING

__all__ = [
    "MISSING",
    "MergeResult",
    "Merged",
    "incoming",
    "merge_bytes",
    "merge_documents",
    "merge_task_files",
    "merge_task_lists",
]
