"""kiln's runner for compiled BGE models on a VastAI die, through vaststreamx.

Loads one compiled model per seqlen exactly as the vendor's BGE code does (vendor-toolchain.md
section 2: VastModelZOO nlp/text2vec/bge/build_in/vsx/base.py): set_device, Model(prefix, batch),
the BERT embedding operator, Graph(do_copy=False), ModelOperator, add_operators, Stream(ONCE),
register_operator_output, build; then serves batches with run_sync, each sample's six int32
[1, L] inputs in the vendor's order (input_ids, attention_mask, token_type_ids, then the mask three
times). Output 0 of each sample is read as numpy and its first row kept: the CLS vector [hidden]
of an embedder's [L, hidden], or a reranker's logit. Anything else is an error, not a guess.

Usage: python vsx_runner.py --device N --batch B --model L=PREFIX [--model L=PREFIX ...]

Protocol on stdin/stdout, little-endian, tensors as raw bytes:
  ready   (runner -> kiln): u32 MAGIC, u32 status (0 ok, 1 failed), u32 n, n bytes of UTF-8 JSON
          ({"seqlens": [...], "widths": {...}, "vaststreamx": version} or {"error": message})
  request (kiln -> runner): u32 MAGIC, u32 op (1 run, 2 quit), u32 rows, u32 L,
          then int32 input_ids, attention_mask, token_type_ids, each rows x L
  reply   (runner -> kiln): u32 status 0, u32 rows, u32 width, f64 run_sync us, float32 rows x width
          or u32 status 1, u32 n, n bytes of UTF-8 message (a bad request; the runner carries on)
"""
import argparse
import json
import struct
import sys
import time

MAGIC = 0x4B565231  # "KVR1"


def read_exactly(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def send(out, *parts):
    for p in parts:
        out.write(p)
    out.flush()


def send_error(out, message):
    data = message.encode("utf-8")
    send(out, struct.pack("<II", 1, len(data)), data)


def load(vsx, prefix, batch):
    model = vsx.Model(prefix, batch)
    embedding_op = vsx.Operator(vsx.OpType.BERT_EMBEDDING_OP)
    graph = vsx.Graph(do_copy=False)
    model_op = vsx.ModelOperator(model)
    graph.add_operators(embedding_op, model_op)
    stream = vsx.Stream(graph, vsx.StreamBalanceMode.ONCE)
    stream.register_operator_output(model_op)
    stream.build()
    return model, stream


def main():
    parser = argparse.ArgumentParser(description="kiln's vaststreamx runner (length-prefixed binary protocol on stdin/stdout)")
    parser.add_argument("--device", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--model", action="append", required=True, help="L=PREFIX, PREFIX being <dir>/mod")
    args = parser.parse_args()
    out = sys.stdout.buffer
    inp = sys.stdin.buffer

    def ready(status, payload):
        data = json.dumps(payload).encode("utf-8")
        send(out, struct.pack("<III", MAGIC, status, len(data)), data)

    try:
        import numpy as np
        import vaststreamx as vsx
    except Exception as e:  # the ready frame carries the reason
        ready(1, {"error": "import failed: %s: %s" % (type(e).__name__, e)})
        return 1
    code = vsx.set_device(args.device)
    if code != 0:
        ready(1, {"error": "vsx.set_device(%d) returned %s: the die is missing or busy" % (args.device, code)})
        return 1
    models = {}
    try:
        for spec in args.model:
            length, _, prefix = spec.partition("=")
            seqlen = int(length)
            model, stream = load(vsx, prefix, args.batch)
            shapes = [list(s) for s in model.input_shape]
            if len(shapes) != 6 and len(shapes) != 1:
                raise ValueError("%s: model.input_shape lists %d inputs, expected the six of a compiled BERT model" % (prefix, len(shapes)))
            if list(shapes[0])[-1] != seqlen:
                raise ValueError("%s: model.input_shape[0] is %s, expected [1, %d]" % (prefix, shapes[0], seqlen))
            models[seqlen] = (model, stream)
    except Exception as e:
        ready(1, {"error": "loading %s: %s: %s" % (spec, type(e).__name__, e)})
        return 1
    ready(0, {"seqlens": sorted(models), "vaststreamx": getattr(vsx, "__version__", None), "batch": args.batch})

    while True:
        header = read_exactly(inp, 16)
        if header is None:
            return 0
        magic, op, rows, seqlen = struct.unpack("<IIII", header)
        if magic != MAGIC:
            sys.stderr.write("vsx_runner: bad frame (magic %x); the protocol is out of step\n" % magic)
            return 2
        if op == 2:
            return 0
        body = read_exactly(inp, rows * seqlen * 4 * 3)
        if body is None:
            return 0
        if seqlen not in models:
            send_error(out, "no compiled model for seqlen %d (compiled: %s)" % (seqlen, sorted(models)))
            continue
        if rows < 1 or rows > args.batch:
            send_error(out, "%d rows in a batch; the models were loaded with batch size %d" % (rows, args.batch))
            continue
        arrays = np.frombuffer(body, dtype="<i4").reshape(3, rows, seqlen).astype(np.int32)
        ids, mask, types = arrays[0], arrays[1], arrays[2]
        model, stream = models[seqlen]
        samples = []
        for i in range(rows):
            row = lambda a: vsx.from_numpy(np.ascontiguousarray(a[i : i + 1]), args.device)
            samples.append([row(ids), row(mask), row(types), row(mask), row(mask), row(mask)])
        started = time.perf_counter()
        outputs = stream.run_sync(samples)
        micros = (time.perf_counter() - started) * 1e6
        rows_out = []
        for i in range(rows):
            first = np.asarray(vsx.as_numpy(outputs[i][0]))
            if first.ndim != 2:
                send_error(out, "sample %d: output 0 has shape %s; expected rank 2 ([L, hidden] or [1, W])" % (i, list(first.shape)))
                rows_out = None
                break
            rows_out.append(first[0].astype(np.float32))
        if rows_out is None:
            continue
        result = np.stack(rows_out)
        send(out, struct.pack("<IIId", 0, rows, result.shape[1], micros), np.ascontiguousarray(result, dtype="<f4").tobytes())


if __name__ == "__main__":
    sys.exit(main())
