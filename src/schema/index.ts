// Validation messages shared by every module: zod issues as sentences, and one reader for JSON
// files that must match a schema.
export { describeFlagIssues, describeIssue, describeIssues, formatIssuePath, showValue } from "./describe-issue.ts"
export { JsonFileError, type JsonFileProblem, parseJsonText, readJsonFile } from "./read-json-file.ts"
