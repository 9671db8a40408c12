"""Fail when openapi.yaml breaks the last release of the contract without a major version bump.

The last release is the highest version X.Y.Z under releases/ (releases/X.Y.Z/openapi.yaml, whose
info.version is X.Y.Z). api-smart-diff, pinned in package.json and run by contract_diff.mjs, finds
and classifies every change from that release to openapi.yaml. A breaking change passes only when
openapi.yaml's info.version has a higher major than the release; a non-breaking one needs no bump
here (the version is raised when the next release is cut). README.md, "Versioning and changes",
states the policy.

What counts as breaking is the tool's word, with corrections where its rules are known to be
wrong or the policy says more (see `_verdict`). Changes under `components` are judged where
operations use them, since only there is it known whether a schema is read or written.

Usage: check_contract_history.py [--spec openapi.yaml] [--releases releases]
Exit status: 0 when the contract keeps the last release's promises (or the major was bumped),
1 when it does not or the versions are inconsistent, 2 when the check cannot run.
"""

import argparse
import json
import pathlib
import re
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIFF_SCRIPT = ROOT / "scripts" / "contract_diff.mjs"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# A response schema keyword whose value, when replaced, admits values a client did not expect.
# api-smart-diff reverses its request rules for responses, which turns "breaking both ways" into
# "non-breaking" for these.
REPLACED_IN_RESPONSE = {"type", "format", "const", "pattern"}


class CheckError(Exception):
    """The check cannot run: a missing file, an unreadable spec, the diff tool failing."""


def version_of(text):
    match = SEMVER.match(str(text))
    return tuple(int(part) for part in match.groups()) if match else None


def load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise CheckError(f"cannot read {path}: {exc}") from exc


def last_release(releases):
    """(version, path of its spec) of the highest release, or None; problems with the folder."""
    found, problems = [], []
    folders = sorted(p for p in releases.iterdir() if p.is_dir()) if releases.is_dir() else []
    for folder in folders:
        version, spec = version_of(folder.name), folder / "openapi.yaml"
        if version is None:
            problems.append(f"{folder.name}: a release folder is named by its version, X.Y.Z")
        elif not spec.is_file():
            problems.append(f"{folder.name}: no openapi.yaml in the release folder")
        elif (stated := str((load(spec) or {}).get("info", {}).get("version"))) != folder.name:
            problems.append(f"{folder.name}: its openapi.yaml says info.version {stated!r}")
        else:
            found.append((version, spec))
    return (max(found) if found else None), problems


def changes_between(before, after):
    payload = json.dumps({"before": before, "after": after}, default=str)
    try:
        result = subprocess.run(
            ["node", str(DIFF_SCRIPT)], input=payload, capture_output=True, text=True, timeout=120, cwd=ROOT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CheckError(f"cannot run node: {exc}") from exc
    if result.returncode != 0:
        hint = " (install the Node tools with `npm ci`)" if "api-smart-diff" in result.stderr else ""
        raise CheckError(f"the diff tool failed{hint}:\n{result.stderr.strip()}")
    return json.loads(result.stdout)


def _verdict(change):
    """(breaking?, why) for one change the tool reported."""
    path, action = change["path"], change["action"]
    if path[0] == "components":
        return False, None
    key, parent = path[-1], (path[-2] if len(path) > 1 else None)
    is_keyword = parent != "properties"  # path[-1] names a schema keyword, not a property
    in_response = len(path) > 3 and path[0] == "paths" and path[3] == "responses"
    if path[0] == "paths" and len(path) == 4 and key == "operationId" and action != "add":
        return True, "generated clients name their functions after the operationId"
    if key == "nullable" and is_keyword:  # the tool reads `nullable: true` as the stricter value
        was, now = bool(change.get("before")), bool(change.get("after"))
        if was == now:
            return False, None
        if in_response:
            return (True, "a response value may now be null") if now else (False, None)
        return (True, "a request may no longer send null") if was else (False, None)
    if (
        in_response
        and action == "replace"
        and change["type"] != "breaking"
        and ((key in REPLACED_IN_RESPONSE and is_keyword) or parent == "enum")
    ):
        return True, f"a response's `{parent if parent == 'enum' else key}` changed"
    return change["type"] == "breaking", None


def _plain_description(change):
    action = change["action"]
    verb = f"{action}d" if action.endswith("e") else f"{action}ed"
    if action == "replace" and "before" in change and "after" in change:
        return f"{verb} `{change['before']}` with `{change['after']}`"
    value = change.get("before" if action == "remove" else "after", change["path"][-1])
    return f"{verb} `{value}`"


def describe(change, why):
    path = [str(part) for part in change["path"]]
    if path[0] == "paths" and len(path) > 2 and path[2] in METHODS:
        where, rest = f"{path[2].upper()} {path[1]}", path[3:]
    elif path[0] == "paths" and len(path) > 1:
        where, rest = path[1], path[2:]
    else:
        where, rest = path[0], path[1:]
    description = change.get("description") or ""
    if not description or "annotation (" in description:  # the tool's wording for a shared schema
        description = _plain_description(change)
    text = f"{where}: {description}"
    if rest:
        text += f" (at {'.'.join(rest)})"
    return f"{text}; counted as breaking: {why}" if why else text


def places(count):
    return f"{count} place" if count == 1 else f"{count} places"


def check(spec_path, releases):
    """(exit status, report lines)."""
    spec = load(spec_path)
    current_text = str((spec or {}).get("info", {}).get("version"))
    current = version_of(current_text)
    if current is None:
        return 1, [f"{spec_path.name}: info.version {current_text!r} is not a version X.Y.Z"]
    release, problems = last_release(releases)
    if problems:
        return 1, [f"releases/{problem}" for problem in problems]
    if release is None:
        return 0, [f"no release under {releases.name}/ yet: nothing to keep"]
    released, release_spec = release
    released_text = ".".join(map(str, released))
    if current < released:
        return 1, [f"{spec_path.name}: info.version {current_text} is lower than the last release, {released_text}"]
    changes = changes_between(load(release_spec), spec)
    breaking = []
    for change in changes:
        is_breaking, why = _verdict(change)
        if is_breaking:
            breaking.append(describe(change, why))
    if not breaking:
        return 0, [
            f"{spec_path.name} ({current_text}) keeps every promise of release {released_text}: "
            f"{len(changes)} changes, none breaking"
        ]
    listing = [f"  - {line}" for line in breaking]
    if current[0] > released[0]:
        return 0, [
            f"{spec_path.name} ({current_text}) breaks release {released_text} in "
            f"{places(len(breaking))}, as its major version allows:",
            *listing,
        ]
    bumped = f"{released[0] + 1}.0.0"
    return 1, [
        f"{spec_path.name} ({current_text}) breaks release {released_text} in "
        f"{places(len(breaking))} without a major version bump:",
        *listing,
        f"Undo these changes, or make info.version {bumped} and list them under "
        f'[Unreleased] in CHANGELOG.md (README.md, "Versioning and changes").',
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=pathlib.Path, default=ROOT / "openapi.yaml")
    parser.add_argument("--releases", type=pathlib.Path, default=ROOT / "releases")
    args = parser.parse_args(argv)
    try:
        status, lines = check(args.spec, args.releases)
    except CheckError as exc:
        print(f"check_contract_history: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines), file=sys.stdout if status == 0 else sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
