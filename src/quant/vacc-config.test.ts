// vamc's quantize/dataset blocks: field names and fixed values per DESIGN.md §6, YAML that parses
// back to the same, presets, and bad options named.

import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse } from "yaml"
import { writeCalibrationSet } from "../calibration/index.ts"
import { QuantError } from "./quant-error.ts"
import { renderVaccQuantizeYaml, vaccQuantizeConfig } from "./vacc-config.ts"
import { bgeM3VaccPreset, bgeRerankerV2M3VaccPreset, presetOptions } from "./vacc-presets.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-vacc-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe("vaccQuantizeConfig", () => {
  test("writes the quantize and dataset blocks with vamc's field names and fixed values", () => {
    const config = vaccQuantizeConfig({ calibrateMode: "percentile", perChannel: true, excludeLayers: ["encoder.layer.0.output.dense"], calibrationDir: "/data/calib", samples: 100 })
    const yaml = renderVaccQuantizeYaml(config)
    expect(parse(yaml)).toEqual({
      quantize: {
        calibrate_mode: "percentile",
        quantize_per_channel: true,
        overflow_adaptive: 1,
        weight_scale: "max",
        calibrate_chunk_by: -1,
        calibrate_range: 0.99999,
        exclude_layers: ["encoder.layer.0.output.dense"],
        quantize_operators: ["!_add"],
      },
      dataset: { type: "tvm", path: "/data/calib", sampler: { suffix: "npz", get_data_num: 100 } },
    })
    expect(yaml).toContain("calibrate_range: 0.99999")
  })

  test("bad options are named", () => {
    const bad = (input: unknown, subject: string) => {
      let caught: unknown
      try {
        vaccQuantizeConfig(input as never)
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(QuantError)
      expect((caught as QuantError).subject).toBe(subject)
    }
    bad({ calibrateMode: "entropy", calibrationDir: "c", samples: 1 }, "calibrateMode")
    bad({ calibrateMode: "max", calibrationDir: "c", samples: 0 }, "samples")
    bad({ calibrateMode: "max", calibrationDir: "c", samples: 1, calibrateRange: 1.5 }, "calibrateRange")
    bad({ calibrateMode: "max", samples: 1 }, "calibrationDir")
    writeCalibrationSet([{ ids: [1, 2] }, { ids: [1, 5, 2] }], join(root, "set"), { seqlen: 4, padId: 0 })
    bad({ calibrateMode: "max", calibrationDir: join(root, "set"), samples: 3 }, "samples")
  })

  test("presets: bge-m3 percentile, bge-reranker-v2-m3 max with a longer float list, both marked as reconstructions", () => {
    const m3 = bgeM3VaccPreset()
    const reranker = bgeRerankerV2M3VaccPreset()
    expect(m3.calibrateMode).toBe("percentile")
    expect(reranker.calibrateMode).toBe("max")
    expect(m3.excludeLayers).toContain("encoder.layer.23.output.dense")
    expect(reranker.excludeLayers.length).toBeGreaterThan(m3.excludeLayers.length)
    for (const p of [m3, reranker]) expect(p.provenance).toMatch(/reconstruction \(not the vendor's verbatim list\)/)
    const config = vaccQuantizeConfig(presetOptions(reranker, "/data/calib", 50))
    expect(config.quantize.exclude_layers).toEqual([...reranker.excludeLayers])
    expect(config.quantize.calibrate_mode).toBe("max")
  })
})
