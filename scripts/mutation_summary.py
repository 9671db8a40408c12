"""Killed and surviving mutants per group of modules, from the results `mutmut run` left in mutants/.

Run from the project root after `mutmut run` (as `make mutation` does). A timeout counts as a kill:
the tests noticed the mutant. The share killed is of the mutants checked so far (an interrupted run
leaves some unchecked). Survivors are named so that `mutmut show NAME` prints each diff;
those judged equivalent are listed, with the reason, in MUTATION.md.
"""

import sys
from collections import Counter

from mutmut.mutation.data import SourceFileMutationData
from mutmut.stats import status_by_exit_code

GROUPS = {
    "access": ["models/access.py"],
    "grid + layout": ["models/grid.py", "models/layout.py"],
    "query": ["models/query.py"],
    "parameters": ["models/parameters.py"],
}
DETECTED = ("killed", "timeout")


def statuses(path):
    data = SourceFileMutationData(path=path)
    data.load()
    return {name: status_by_exit_code[code] for name, code in data.exit_code_by_key.items()}


def main():
    survivors = []
    print(f"{'group':<15} {'killed':>7} {'survived':>9} {'other':>6} {'unchecked':>10} {'total':>6} {'killed %':>9}")
    for group, paths in GROUPS.items():
        found = {name: status for path in paths for name, status in statuses(path).items()}
        counts = Counter(found.values())
        killed = sum(counts[status] for status in DETECTED)
        checked = len(found) - counts["not checked"]
        other = checked - killed - counts["survived"]
        share = f"{100 * killed / checked:.1f}" if checked else "-"
        print(
            f"{group:<15} {killed:>7} {counts['survived']:>9} {other:>6} {counts['not checked']:>10}"
            f" {len(found):>6} {share:>9}"
        )
        survivors += [
            (name, status) for name, status in sorted(found.items()) if status not in (*DETECTED, "not checked")
        ]
    if survivors:
        print("\nNot killed (`mutmut show NAME` prints the change):")
        for name, status in survivors:
            print(f"  {name}: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
