// vamc's compile YAML: the vendor's keys for BERT / XLM-R, attention_split_num from the seqlen,
// output_layout for embedders only, int8 blocks, byte-stable text, bad configs named.
import { describe, expect, test } from "bun:test"
import { parse } from "yaml"
import { TargetError } from "../errors.ts"
import { attentionSplitNum, renderVamcYaml, vamcConfig } from "./vamc-config.ts"

const quantize = {
  quantize: { calibrate_mode: "percentile" as const, quantize_per_channel: false, overflow_adaptive: 1 as const, weight_scale: "max" as const, calibrate_chunk_by: -1 as const, calibrate_range: 0.99999, exclude_layers: ["encoder.layer.0.output.dense"], quantize_operators: ["!_add"] },
  dataset: { type: "tvm" as const, path: "./calibration", sampler: { suffix: "npz" as const, get_data_num: 10 } },
}

describe("vamcConfig", () => {
  test("an fp16 embedder at 512: the vendor's keys, shapes in flow style, output_layout, no split", () => {
    const yaml = renderVamcYaml(vamcConfig({ name: "bge-m3-512-fp16", checkpoint: "./model.onnx", seqlen: 512, task: "embedding", dtype: "fp16" }))
    expect(parse(yaml)).toEqual({
      name: "bge-m3-512-fp16",
      frontend: { checkpoint: "./model.onnx", shape: { input_ids: [1, 512], attention_mask: [1, 512], token_type_ids: [1, 512] }, dtype: "int64" },
      backend: { type: "tvm_vacc", dtype: "fp16", compile: { cluster_mode: 0, data_type: 0, output_layout: ["0:YX"], mem_inplace: false } },
      workspace: { path: "./vacc_deploy" },
    })
    expect(yaml).toContain("input_ids: [1, 512]")
    expect(yaml).toContain('output_layout: ["0:YX"]')
  })

  test("the same inputs give the same bytes", () => {
    const make = () => renderVamcYaml(vamcConfig({ name: "m", checkpoint: "./model.onnx", seqlen: 4096, task: "embedding", dtype: "int8", quantize }))
    expect(make()).toBe(make())
  })

  test("a reranker gets no output_layout", () => {
    const c = vamcConfig({ name: "r", checkpoint: "./model.onnx", seqlen: 512, task: "reranker", dtype: "fp16" })
    expect(c.backend.compile.output_layout).toBeUndefined()
  })

  test("attention_split_num is 4 / 8 / 16 for 2048 / 4096 / 8192 and absent up to 1024", () => {
    expect([512, 1024, 2048, 4096, 8192].map(attentionSplitNum)).toEqual([undefined, undefined, 4, 8, 16])
    expect(vamcConfig({ name: "m", checkpoint: "./m.onnx", seqlen: 8192, task: "embedding", dtype: "fp16" }).backend.compile.attention_split_num).toBe(16)
  })

  test("a seqlen past 1024 that is not a multiple of 512 is refused, not guessed", () => {
    expect(() => attentionSplitNum(3000)).toThrow(/seqlen 3000: vamc needs attention_split_num/)
  })

  test("int8 carries the quantize block under backend and the dataset block at the top", () => {
    const parsed = parse(renderVamcYaml(vamcConfig({ name: "m", checkpoint: "./model.onnx", seqlen: 512, task: "embedding", dtype: "int8", quantize })))
    expect(parsed.backend.quantize.quantize_operators).toEqual(["!_add"])
    expect(parsed.dataset).toEqual({ type: "tvm", path: "./calibration", sampler: { suffix: "npz", get_data_num: 10 } })
  })

  test("int8 without quantize settings, or a bad name, is a TargetError naming the field", () => {
    const error = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return e
      }
      throw new Error("no error")
    }
    const noQuant = error(() => vamcConfig({ name: "m", checkpoint: "./m.onnx", seqlen: 512, task: "embedding", dtype: "int8" })) as TargetError
    expect(noQuant).toBeInstanceOf(TargetError)
    expect(noQuant.message).toMatch(/field "backend.quantize": backend.dtype int8 needs/)
    expect((error(() => vamcConfig({ name: "a/b", checkpoint: "./m.onnx", seqlen: 512, task: "embedding", dtype: "fp16" })) as TargetError).message).toMatch(/field "name"/)
  })
})
