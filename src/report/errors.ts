// How `kiln report` fails on user input: the message names the lock file, run or artifact and what
// was expected; the hint says how to get there (run the pipeline, pass another run).
import * as Data from "effect/Data"

export class ReportError extends Data.TaggedError("ReportError")<{ readonly message: string; readonly hint?: string }> {}
