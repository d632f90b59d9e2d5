// report.md: the sections as GitHub-flavoured Markdown tables (what $GITHUB_STEP_SUMMARY shows).
import type { ReportModel } from "./model.ts"
import { sections, type Table } from "./sections.ts"

const cell = (s: string): string => s.replaceAll("|", "\\|").replaceAll("\n", " ")

const table = (t: Table): string[] => [`| ${t.headers.map(cell).join(" | ")} |`, `| ${t.headers.map(() => "---").join(" | ")} |`, ...t.rows.map((r) => `| ${r.map(cell).join(" | ")} |`)]

export const renderMarkdown = (m: ReportModel): string => {
  const lines = [`## ${m.title}: ${m.run.ok ? "ok" : "FAILED"}`, "", `Pipeline \`${m.pipeline}\`, run ${m.run.id}${m.run.startedAt !== undefined ? ` started ${m.run.startedAt}` : ""}.`, ""]
  for (const s of sections(m)) {
    lines.push(`### ${s.title}`, "")
    for (const n of s.notes) lines.push(n, "")
    for (const t of s.tables) {
      if (t.caption !== undefined) lines.push(`**${cell(t.caption)}**`, "")
      lines.push(...table(t), "")
    }
    for (const b of s.blocks) lines.push(`**${cell(b.caption)}**`, "", "```", ...b.lines, "```", "")
  }
  return lines.join("\n")
}
