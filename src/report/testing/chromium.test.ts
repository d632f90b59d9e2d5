// The browser check itself can fail: a page with a console error, a missing image and a plot
// without marks is reported as such (so the quickstart report test's "no errors, marks in every
// plot" means something). Skipped, with the reason, where Chromium cannot start.
import { expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { freshDirsPerTest } from "../../../tests/support.ts"
import { checkPage, chromiumCannotStart } from "./chromium.ts"

const freshDir = freshDirsPerTest()
const cannot = chromiumCannotStart()

test.skipIf(cannot !== undefined)(`a console error, a missing resource and a plot without marks are all reported${cannot !== undefined ? ` (skipped: ${cannot})` : ""}`, async () => {
  const dir = freshDir()
  const page = join(dir, "bad.html")
  writeFileSync(
    page,
    `<!doctype html><html><body><img src="missing.png"><script>console.error("broken plot")</script>
<figure class="kiln-plot"><svg width="400" height="100"><g aria-label="x-axis tick"><path d="M0,0L0,6"></path></g><g aria-label="dot"></g></svg></figure>
<figure class="kiln-plot"><svg width="400" height="100"><g aria-label="dot"><circle cx="5" cy="5" r="3"></circle></g></svg></figure></body></html>`,
  )
  const r = await checkPage(`file://${page}`)
  if ("skip" in r) throw new Error(r.skip)
  expect(r.errors.some((e) => e.includes("broken plot"))).toBe(true)
  expect(r.errors.some((e) => e.includes("missing.png"))).toBe(true)
  expect(r.plots).toEqual([
    { marks: 0, width: 400 },
    { marks: 1, width: 400 },
  ])
}, 120_000)
