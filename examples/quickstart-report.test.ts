// The quickstart's report, in a real browser: `bun run examples/quickstart.ts` (--frozen, so the
// committed lock file is only checked) prints the report's path and names it in --json; headless
// Chromium opens the HTML from disk with no console errors, and every plot has drawn marks. The
// screenshot goes to .test-output/quickstart-report.png (gitignored) for a person to look at.
// Skipped, with the reason, only where Chromium cannot start.
import { afterAll, beforeAll, expect, test } from "bun:test"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { ReportModel } from "../src/report/index.ts"
import { checkPage, chromiumCannotStart, type PageCheck } from "../src/report/testing/chromium.ts"
import { cleanup, tempDir } from "../tests/support.ts"

const repo = resolve(import.meta.dir, "..")
const outputDir = join(repo, ".test-output")
let root = ""

beforeAll(() => {
  root = tempDir("kiln-quickstart-report-")
})
afterAll(() => cleanup(root))

const cannot = chromiumCannotStart()
if (cannot !== undefined) console.warn(`examples/quickstart-report.test.ts: skipped: ${cannot}`)

test.skipIf(cannot !== undefined)(`the quickstart prints its report's path; Chromium renders it with no console errors and marks in every plot${cannot !== undefined ? ` (skipped: ${cannot})` : ""}`, async () => {
  const proc = Bun.spawn(["bun", "run", join(repo, "examples", "quickstart.ts"), "--frozen", "--json", "--cache-dir", join(root, "cache")], { cwd: repo, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  if (code !== 0) console.error(stderr)
  expect(code).toBe(0)
  const summary = JSON.parse(stdout.trimEnd().split("\n").pop()!) as { report: { html: string; markdown: string; json: string } }
  expect(stderr).toContain(`report: ${summary.report.html}`)
  const model = ReportModel.parse(JSON.parse(readFileSync(summary.report.json, "utf8")))
  expect(model.accuracy.map((a) => a.label)).toEqual(["fp32 (ORT-optimised)", "int8 (dynamic)"])
  expect(model.bench.length).toBe(2)

  const checked = await checkPage(`file://${summary.report.html}`)
  if ("skip" in checked) throw new Error(`Chromium started for the probe but not for the page: ${checked.skip}`)
  const page: PageCheck = checked
  mkdirSync(outputDir, { recursive: true })
  writeFileSync(join(outputDir, "quickstart-report.png"), page.screenshot)
  expect(page.errors).toEqual([])
  // accuracy, fidelity, throughput, latency, timeline, artifact sizes (dynamic int8 has no sensitivity search)
  expect(page.plots.length).toBe(6)
  for (const plot of page.plots) {
    expect(plot.marks).toBeGreaterThan(0)
    expect(plot.width).toBeGreaterThan(300)
  }
  expect(page.screenshot.length).toBeGreaterThan(10_000)
}, 300_000)
