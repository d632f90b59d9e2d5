"""kiln's STAND-IN for VastAI's vaststreamx Python module -- not the vendor's module.

It implements the part of the API that the vendor's BGE code uses (vendor-toolchain.md section 2)
and holds callers to it: set_device before Model, the BERT embedding operator before the model
operator in the graph, build before run, six int32 inputs per sample shaped as model.input_shape,
at most batch_size samples per call. It computes real numbers: the "compiled" model is the ONNX file
kiln's stand-in vamc stored as mod.params, run on the CPU with ONNX Runtime through a Bun helper
process (ort-helper.ts; Debian's Python has no ONNX Runtime); outputs are rounded to fp16 as the
card returns them. Per sample, output 0 is [L, hidden] for a [1, L, hidden] model output and [1, W]
for a [1, W] one (the batch dimension dropped, as the vendor's indexing implies -- inferred).

Stand-in controls: KILN_VACC_DEV_DIR (dies = vastai<N>_version files there), KILN_STANDIN_BUSY_DEVICES
(ids whose set_device fails as busy), KILN_STANDIN_COMPUTE=none (outputs of the right shape, all
zeros, computing nothing: for measuring the cost of the process boundary), KILN_STANDIN_CRASH_AFTER=N
(the process dies abruptly on the N+1-th run: for fault tests), KILN_STANDIN_RUN_DELAY_MS (each run
waits this long first), KILN_STANDIN_PIDFILE (set_device appends "vsx <pid>"),
KILN_STANDIN_OUTPUT_LAYOUT=batched|transposed (per-sample output 0 as [1, L, hidden] or [hidden, L]:
the shapes a wrong guess about the card's output would give, for fault tests), KILN_BUN (the bun
executable).
"""
import os
import queue
import re
import struct
import subprocess
import sys

import numpy as np

KILN_STAND_IN = True
__version__ = "0.0.0+kiln.stand-in"

_HERE = os.path.dirname(os.path.abspath(__file__))
_HELPER = os.path.join(_HERE, "..", "..", "ort-helper.ts")


class OpType:
    BERT_EMBEDDING_OP = "BERT_EMBEDDING_OP"


class StreamBalanceMode:
    ONCE = "ONCE"
    RUN = "RUN"


class GraphOutputType:
    GRAPH_OUTPUT_TYPE_NCHW_DEVICE = "GRAPH_OUTPUT_TYPE_NCHW_DEVICE"
    GRAPH_OUTPUT_TYPE_NCHW_HOST = "GRAPH_OUTPUT_TYPE_NCHW_HOST"


_state = {"device": None, "runs": 0}


def _dies():
    root = os.environ.get("KILN_VACC_DEV_DIR") or "/dev"
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in (re.match(r"^vastai(\d+)_version$", n) for n in names) if m)


def set_device(device_id):
    """Returns 0 on success, as the vendor's `assert vsx.set_device(dev) == 0` expects."""
    if not isinstance(device_id, int):
        raise TypeError("set_device: device id must be an int, got %r" % (device_id,))
    busy = [s.strip() for s in os.environ.get("KILN_STANDIN_BUSY_DEVICES", "").split(",") if s.strip()]
    if str(device_id) in busy:
        sys.stderr.write("vaststreamx (kiln stand-in): die %d is busy\n" % device_id)
        return -1
    if device_id not in _dies():
        sys.stderr.write("vaststreamx (kiln stand-in): no die %d (dies: %s)\n" % (device_id, _dies()))
        return -1
    _state["device"] = device_id
    pidfile = os.environ.get("KILN_STANDIN_PIDFILE")
    if pidfile:
        with open(pidfile, "a") as f:
            f.write("vsx %d\n" % os.getpid())
    return 0


class Tensor:
    def __init__(self, array, device_id):
        self._array = array
        self.device_id = device_id
        self.shape = list(array.shape)
        self.dtype = array.dtype


def from_numpy(array, device_id=0):
    if not isinstance(array, np.ndarray):
        raise TypeError("from_numpy: expected a numpy.ndarray, got %s" % type(array).__name__)
    return Tensor(np.ascontiguousarray(array), device_id)


def as_numpy(tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError("as_numpy: expected a vaststreamx Tensor, got %s" % type(tensor).__name__)
    return tensor._array


class _Helper:
    """The Bun + onnxruntime-node process that computes for one model."""

    def __init__(self, onnx_path):
        bun = os.environ.get("KILN_BUN", "bun")
        self._proc = subprocess.Popen([bun, _HELPER, onnx_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self._proc.stdout.read(n - len(data))
            if not chunk:
                raise RuntimeError("vaststreamx (kiln stand-in): the compute helper exited (code %s)" % self._proc.poll())
            data += chunk
        return data

    def run(self, ids, mask, types):
        rows, seqlen = ids.shape
        self._proc.stdin.write(struct.pack("<II", rows, seqlen))
        for a in (ids, mask, types):
            self._proc.stdin.write(np.ascontiguousarray(a, dtype="<i4").tobytes())
        self._proc.stdin.flush()
        (status,) = struct.unpack("<I", self._read(4))
        if status != 0:
            (length,) = struct.unpack("<I", self._read(4))
            raise RuntimeError("vaststreamx (kiln stand-in): run err: %s" % self._read(length).decode("utf-8", "replace"))
        micros, _rss = struct.unpack("<dd", self._read(16))
        (rank,) = struct.unpack("<I", self._read(4))
        dims = struct.unpack("<%dI" % rank, self._read(4 * rank))
        count = int(np.prod(dims))
        data = np.frombuffer(self._read(4 * count), dtype="<f4").reshape(dims)
        return data

    def close(self):
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write(struct.pack("<II", 0, 0))
                self._proc.stdin.close()
            except OSError:
                pass
            self._proc.wait()


class Model:
    def __init__(self, prefix, batch_size, hw_config=None):
        if _state["device"] is None:
            raise RuntimeError("vaststreamx (kiln stand-in): Model() before set_device(); call vsx.set_device(die) first")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError("Model: batch_size must be a positive int, got %r" % (batch_size,))
        for suffix in (".so", ".json", ".params"):
            if not os.path.exists(prefix + suffix):
                raise RuntimeError("vaststreamx (kiln stand-in): %s%s not found (the prefix names <dir>/mod)" % (prefix, suffix))
        import json

        with open(prefix + ".json") as f:
            meta = json.load(f)
        if "kiln_stand_in" not in meta:
            raise RuntimeError("vaststreamx (kiln stand-in): %s.json was not written by kiln's stand-in vamc; the stand-in cannot run a real compiled model" % prefix)
        self.prefix = prefix
        self.batch_size = batch_size
        self.max_batch_size = batch_size
        self.input_shape = [list(s) for s in meta["input_shape"]]
        self.input_count = len(self.input_shape)
        seqlen = meta["seqlen"]
        width = meta["hidden"] if meta["output_rank"] == 3 else None
        self.output_shape = [[seqlen, width] if width else [1, 1]]
        self.output_count = 1
        self._meta = meta
        self._helper = None

    def _compute(self, ids, mask, types):
        if os.environ.get("KILN_STANDIN_COMPUTE") == "none":
            rows, seqlen = ids.shape
            if self._meta["output_rank"] == 3:
                return np.zeros((rows, seqlen, self._meta["hidden"]), dtype=np.float32)
            return np.zeros((rows, 1), dtype=np.float32)
        if self._helper is None:
            self._helper = _Helper(self.prefix + ".params")
        return self._helper.run(ids, mask, types)


class Operator:
    def __init__(self, op_type):
        if op_type != OpType.BERT_EMBEDDING_OP:
            raise ValueError("Operator: the stand-in knows OpType.BERT_EMBEDDING_OP only, got %r" % (op_type,))
        self.op_type = op_type

    @staticmethod
    def load_ops_from_json_file(path):
        import json

        with open(path) as f:
            config = json.load(f)
        if config.get("OpType") != "BERT_EMBEDDING_OP":
            raise ValueError("%s: OpType %r, the stand-in knows BERT_EMBEDDING_OP only" % (path, config.get("OpType")))
        return [Operator(OpType.BERT_EMBEDDING_OP)]


class ModelOperator:
    def __init__(self, model):
        if not isinstance(model, Model):
            raise TypeError("ModelOperator: expected a vsx.Model")
        self.model = model


class Graph:
    def __init__(self, output_type=None, do_copy=True):
        self.operators = []

    def add_operators(self, *ops):
        if len(ops) != 2 or not isinstance(ops[0], Operator) or not isinstance(ops[1], ModelOperator):
            raise ValueError("Graph.add_operators: the BERT pipeline is (Operator(BERT_EMBEDDING_OP), ModelOperator(model)), in that order")
        self.operators = list(ops)


class Stream:
    def __init__(self, graph, mode):
        if not graph.operators:
            raise ValueError("Stream: the graph has no operators; call graph.add_operators first")
        if mode not in (StreamBalanceMode.ONCE, StreamBalanceMode.RUN):
            raise ValueError("Stream: unknown balance mode %r" % (mode,))
        self._model_op = graph.operators[1]
        self._registered = False
        self._built = False
        self._async = queue.Queue()
        self._closed = False

    def register_operator_output(self, *args):
        op = args[-1]
        if op is not self._model_op:
            raise ValueError("register_operator_output: expected the graph's ModelOperator")
        self._registered = True

    def build(self):
        if not self._registered:
            raise RuntimeError("Stream.build: register_operator_output(model_op) first")
        self._built = True

    def _check(self, samples):
        model = self._model_op.model
        if not self._built:
            raise RuntimeError("run: Stream.build() was not called")
        if not isinstance(samples, list) or not samples:
            raise ValueError("run: expected a non-empty list of samples (one list of input tensors each)")
        if len(samples) > model.batch_size:
            raise ValueError("run: %d samples but the model was loaded with batch_size %d" % (len(samples), model.batch_size))
        for i, sample in enumerate(samples):
            if not isinstance(sample, list) or len(sample) != model.input_count:
                raise ValueError("run: sample %d has %s inputs, the compiled model takes %d" % (i, len(sample) if isinstance(sample, list) else "no list of", model.input_count))
            for k, t in enumerate(sample):
                if not isinstance(t, Tensor):
                    raise TypeError("run: sample %d input %d is not a vsx Tensor (use vsx.from_numpy)" % (i, k))
                if t.dtype != np.int32:
                    raise TypeError("run: sample %d input %d is %s, expected int32" % (i, k, t.dtype))
                if t.shape != model.input_shape[k]:
                    raise ValueError("run: sample %d input %d has shape %s, model.input_shape[%d] is %s" % (i, k, t.shape, k, model.input_shape[k]))
            mask = sample[1]._array
            for k in (3, 4, 5):
                if not np.array_equal(sample[k]._array, mask):
                    raise ValueError("run: sample %d input %d differs from input 1; BGE passes the attention mask as inputs 1, 3, 4 and 5" % (i, k))

    def run_sync(self, samples):
        self._check(samples)
        crash_after = os.environ.get("KILN_STANDIN_CRASH_AFTER")
        _state["runs"] += 1
        if crash_after is not None and _state["runs"] > int(crash_after):
            sys.stderr.write("vaststreamx (kiln stand-in): simulated die fault: run err, err code: 803012, vafwER_MCU_ERROR_LMCU0\n")
            sys.stderr.flush()
            os._exit(134)
        delay = os.environ.get("KILN_STANDIN_RUN_DELAY_MS")
        if delay:
            import time

            time.sleep(int(delay) / 1000)
        model = self._model_op.model
        ids = np.concatenate([s[0]._array for s in samples])
        mask = np.concatenate([s[1]._array for s in samples])
        types = np.concatenate([s[2]._array for s in samples])
        out = model._compute(ids, mask, types).astype(np.float16)
        device = _state["device"]
        if out.ndim == 3:
            layout = os.environ.get("KILN_STANDIN_OUTPUT_LAYOUT")
            if layout == "batched":
                return [[Tensor(out[i : i + 1], device)] for i in range(len(samples))]
            if layout == "transposed":
                return [[Tensor(np.ascontiguousarray(out[i].T), device)] for i in range(len(samples))]
            return [[Tensor(out[i], device)] for i in range(len(samples))]
        return [[Tensor(out[i : i + 1], device)] for i in range(len(samples))]

    def run_async(self, samples):
        if self._closed:
            raise RuntimeError("run_async after close_input")
        for outs in self.run_sync(samples):
            self._async.put(outs)

    def get_operator_output(self, op):
        item = self._async.get()
        if item is None:
            raise ValueError("stream closed")
        return item

    def close_input(self):
        self._closed = True
        self._async.put(None)

    def wait_until_done(self):
        return None
