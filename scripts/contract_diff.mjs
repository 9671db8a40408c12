// Every change between two OpenAPI documents, as api-smart-diff (pinned in package.json) finds and
// classifies it. Reads {"before": <document>, "after": <document>} as JSON on standard input (the
// caller parses the YAML) and prints a JSON list of changes: type (breaking, non-breaking,
// annotation, deprecated or unclassified), action (add, remove, replace or rename), path (the keys
// down to the change), description, and before/after where they are plain values.
// scripts/check_contract_history.py runs it and decides what the changes mean for the version.
import { apiCompare } from "api-smart-diff"

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const { before, after } = JSON.parse(Buffer.concat(chunks).toString("utf8"))

const plain = (value) => value === null || ["string", "number", "boolean"].includes(typeof value)
const { diffs } = apiCompare(before, after)
const changes = diffs.map((diff) => ({
  type: diff.type,
  action: diff.action,
  path: diff.path,
  description: diff.description ?? null,
  ...(plain(diff.before) ? { before: diff.before } : {}),
  ...(plain(diff.after) ? { after: diff.after } : {}),
}))
process.stdout.write(JSON.stringify(changes))
