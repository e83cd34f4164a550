"""MiniLM's graph with integer matrix products: built once from the pinned model, then cached.

The pinned ONNX file keeps its weights as int8 but turns them back into float32 inside the
graph (Cast, then Mul by a per-column scale), so every MatMul runs in float32. This module
folds those weights into plain float32 initializers, then gives each of the 36 weight MatMuls
(Q, K, V, attention output, both feed-forward layers of the 6 layers) integer kernels:

- weights per output column, signed 8-bit where the CPU multiplies uint8 by int8 straight into
  int32 (x86 with VNNI, ARM with dot product), else 7-bit: without VNNI the products pass
  through int16, which 8-bit weights can overflow (``weight_bits``; the recipe names it);
- activations per token, symmetric 8-bit, quantised in the graph at run time: each token's
  scale is its own largest magnitude, so a vector does not depend on the texts batched with
  it (onnxruntime's ``quantize_dynamic`` takes one scale per batch);
- a few input channels run far larger than the rest (outliers that would set every token's
  scale), so each MatMul's input is divided per channel by ``sqrt(activation max / weight
  max)`` and its weights' rows multiplied by as much (SmoothQuant, alpha 0.5: the same product,
  easier to quantise); the activation maxima come from running the float graph once over
  ``data/calibration.txt``, forty sentences of everyday, technical and scientific text;
- products by ``MatMulIntegerToFloat`` with the weights' scales, then the token's scale.

It also drops the six ``Where(IsNaN(softmax), 0, softmax)`` guards the export put after each
attention softmax: the mask adds float32's lowest value, not -inf, so no softmax is ever NaN,
and the guards cost a fifth of the run time. The file is cached under ``$ANSWERDB_CACHE/models``,
named by recipe and by the source model's sha256. Measured choices: docs/models.md.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # onnx takes most of a second to import: only a build needs it
    import onnx

# Bump when the recipe changes: it names the cache file and the recorded revision.
RECIPE = "onnx-tokenint8-v2"
# Earlier recipes whose knowledge bases this one searches and extends (docs/models.md).
EARLIER_RECIPES = ("onnx-dynint8-v1",)
# CPU flags of a uint8 x int8 product summed straight into int32 (no int16 step to saturate).
_EXACT_PRODUCT_FLAGS = re.compile(r"\b(avx512_vnni|avx_vnni|asimddp)\b")
CALIBRATION = Path(__file__).parent / "data" / "calibration.txt"
# A channel is scaled by at most this factor either way (a dead channel is not blown up).
SMOOTHING_BOUND = 100.0
log = logging.getLogger(__name__)


def weight_bits(cpu_flags: str | None = None) -> int:
    """8 where the CPU's flags (``/proc/cpuinfo`` unless given) show an exact uint8 x int8
    product, else 7 (also where they cannot be read)."""
    if cpu_flags is None:
        try:
            cpu_flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpu_flags = ""
    return 8 if _EXACT_PRODUCT_FLAGS.search(cpu_flags) else 7


WEIGHT_BITS = weight_bits()


def recipe_name(bits: int = WEIGHT_BITS) -> str:
    """The recipe and its weights' bits, as revisions record it and cache files are named."""
    return RECIPE if bits == 8 else f"{RECIPE}-w{bits}"


def quantised_file_name(source_sha256: str, bits: int = WEIGHT_BITS) -> str:
    """Keyed by recipe and source model: a new recipe or model never reads an old graph."""
    return f"all-MiniLM-L6-v2-{recipe_name(bits)}-{source_sha256[:16]}.onnx"


def cached_quantised_model(source: Path, source_sha256: str, cache_dir: Path) -> Path:
    """The cached integer graph for ``source``, built first when missing (a few seconds)."""
    path = cache_dir / quantised_file_name(source_sha256)
    if not path.exists():
        log.info("building MiniLM's integer graph (once; cached at %s)", path)
        build_quantised(source, path)
    return path


def build_quantised(source: Path, dest: Path, bits: int = WEIGHT_BITS) -> None:
    """Write the integer graph of ``source`` with ``bits``-bit weights to ``dest`` atomically:
    written beside it under a temporary name, then renamed, so concurrent builders and readers
    never see half a file."""
    import onnx

    model = onnx.load(str(source))
    fold_dequantised_weights(model.graph)
    drop_nan_guards(model.graph)
    quantise_matmuls(model, activation_maxima(model, calibration_batch()), bits)
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    os.close(handle)
    try:
        onnx.save(model, temporary)
        os.chmod(temporary, 0o644)  # a shared cache should be readable by its other users
        os.replace(temporary, dest)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def drop_nan_guards(graph: onnx.GraphProto) -> int:
    """Remove each ``Where(IsNaN(x), 0, x)``, its readers reading ``x``; returns how many."""
    from onnx import numpy_helper

    made_by = {out: node for node in graph.node for out in node.output}
    zeros = {i.name for i in graph.initializer if not numpy_helper.to_array(i).any()}
    outputs = {o.name for o in graph.output}
    read_instead: dict[str, str] = {}
    dropped: set[int] = set()
    for node in graph.node:
        test = made_by.get(node.input[0]) if node.op_type == "Where" else None
        if test is None or test.op_type != "IsNaN" or test.input[0] != node.input[2]:
            continue
        if node.input[1] in zeros and node.output[0] not in outputs:
            read_instead[node.output[0]] = node.input[2]
            dropped.update((id(node), id(test)))
    kept = [node for node in graph.node if id(node) not in dropped]
    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = read_instead.get(name, name)
    del graph.node[:]
    graph.node.extend(kept)
    return len(read_instead)


def quantise_matmuls(
    model: onnx.ModelProto, maxima: dict[str, np.ndarray], bits: int = WEIGHT_BITS
) -> int:
    """Give every MatMul by an initializer integer kernels (the module's recipe, ``bits``-bit
    weights), smoothed by ``maxima`` (each MatMul input's largest magnitude per channel);
    MatMuls that read one input share its quantised copy. Returns how many were replaced."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    readers: defaultdict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits:
            readers[node.input[0]].append(node)
    replaced = {id(node) for nodes in readers.values() for node in nodes}
    nodes: list[onnx.NodeProto] = []
    added = _constants()
    for node in graph.node:
        if id(node) not in replaced:
            nodes.append(node)
        elif node is readers[node.input[0]][0]:  # the first reader quantises for them all
            prefix = f"tokenint8_{len(nodes)}_"
            group = readers[node.input[0]]
            weights = [
                numpy_helper.to_array(inits.pop(m.input[1])).astype(np.float32) for m in group
            ]
            smooth = _smoothing(maxima[node.input[0]], weights)
            added.append(numpy_helper.from_array(1 / smooth, prefix + "smoothing"))
            nodes.append(
                helper.make_node("Mul", [node.input[0], prefix + "smoothing"], [prefix + "x"])
            )
            nodes += _per_token(prefix + "x", prefix)
            for j, (matmul, w) in enumerate(zip(group, weights, strict=True)):
                out = matmul.output[0]
                smoothed = w * smooth[:, None]
                nodes += _integer_product(prefix, f"{prefix}{j}_", smoothed, bits, out, added)
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend([*inits.values(), *added])
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(replaced)


def _smoothing(activations: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """Per input channel, sqrt(activation max / weight max) over the MatMuls reading it."""
    largest = np.max([np.abs(w).max(axis=1) for w in weights], axis=0)
    ratio = np.maximum(activations, 1e-5) / np.maximum(largest, 1e-5)
    smooth: np.ndarray = np.clip(np.sqrt(ratio), 1 / SMOOTHING_BOUND, SMOOTHING_BOUND)
    return smooth.astype(np.float32)


def calibration_batch() -> dict[str, np.ndarray]:
    """The calibration sentences as MiniLM's inputs (one padded batch)."""
    from answerdb.embed.minilm import encode

    texts = [line for line in CALIBRATION.read_text(encoding="utf-8").splitlines() if line]
    return encode(texts)


def activation_maxima(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each weight MatMul input's largest magnitude per channel over the real tokens of
    ``feeds``, from the float graph ``model`` run once with those inputs as extra outputs."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inits = {init.name for init in probe.graph.initializer}
    names = sorted(
        {n.input[0] for n in probe.graph.node if n.op_type == "MatMul" and n.input[1] in inits}
    )
    for name in names:
        probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    real = feeds["attention_mask"].astype(bool)
    found = session.run(names, feeds)
    return {
        name: np.abs(np.asarray(a)[real]).max(axis=0) for name, a in zip(names, found, strict=True)
    }


def _per_token(x: str, p: str) -> list[onnx.NodeProto]:
    """``x`` as uint8 (zero point 128) and ``{p}scale``, each token's largest magnitude / 127."""
    from onnx import TensorProto, helper

    make = helper.make_node
    return [
        make("Abs", [x], [p + "abs"]),
        make("ReduceMax", [p + "abs"], [p + "largest"], keepdims=1, axes=[-1]),
        make("Max", [p + "largest", "tokenint8_tiny"], [p + "bounded"]),
        make("Div", [p + "bounded", "tokenint8_127"], [p + "scale"]),
        make("Div", ["tokenint8_one", p + "scale"], [p + "inverse"]),
        make("Mul", [x, p + "inverse"], [p + "scaled"]),
        make("Round", [p + "scaled"], [p + "rounded"]),
        make("Add", [p + "rounded", "tokenint8_128"], [p + "shifted"]),
        make("Cast", [p + "shifted"], [p + "quantised"], to=TensorProto.UINT8),
    ]


def _integer_product(
    p: str, q: str, weights: np.ndarray, bits: int, out: str, added: list[onnx.TensorProto]
) -> list[onnx.NodeProto]:
    """``out`` = quantised input ``{p}quantised`` times ``weights``, quantised per column to
    ``bits`` bits, in integers."""
    from onnx import helper, numpy_helper

    top = 2 ** (bits - 1) - 1
    scale = (np.maximum(np.abs(weights).max(axis=0), 1e-12) / top).astype(np.float32)
    quantised = np.clip(np.round(weights / scale), -top, top).astype(np.int8)
    added += [
        numpy_helper.from_array(quantised, q + "weights"),
        numpy_helper.from_array(scale, q + "weight_scale"),
        numpy_helper.from_array(np.array(0, np.int8), q + "weight_zero"),
    ]
    inputs = [p + "quantised", q + "weights", "tokenint8_one", q + "weight_scale"]
    inputs += ["tokenint8_zero", q + "weight_zero"]
    return [
        helper.make_node("MatMulIntegerToFloat", inputs, [q + "product"], domain="com.microsoft"),
        helper.make_node("Mul", [q + "product", p + "scale"], [out]),
    ]


def _constants() -> list[onnx.TensorProto]:
    from onnx import numpy_helper

    floats = {"tokenint8_127": 127.0, "tokenint8_128": 128.0, "tokenint8_one": 1.0}
    floats["tokenint8_tiny"] = 1e-8  # a token of zeros gets a scale, not a division by zero
    made = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in floats.items()]
    return [*made, numpy_helper.from_array(np.array(128, np.uint8), "tokenint8_zero")]


def fold_dequantised_weights(graph: onnx.GraphProto) -> int:
    """Replace each Cast(int8 initializer) → Mul(scale initializer) pair that makes a MatMul's
    weights by one float32 initializer holding the product; returns how many were folded."""
    from onnx import numpy_helper

    inits = {init.name: init for init in graph.initializer}
    nodes = list(graph.node)
    casts = {n.output[0]: i for i, n in enumerate(nodes) if _casts_an_initializer(n, inits)}
    # Only MatMul weights: the embedding tables stay int8 (a float copy would add 47 MB).
    weights_of = {node.input[1] for node in nodes if node.op_type == "MatMul"}
    dropped: set[int] = set()
    folded: list[onnx.TensorProto] = []
    for index, node in enumerate(nodes):
        cast = casts.get(node.input[0]) if node.op_type == "Mul" else None
        if cast is None or node.input[1] not in inits or node.output[0] not in weights_of:
            continue
        weights = numpy_helper.to_array(inits.pop(nodes[cast].input[0])).astype(np.float32)
        scale = numpy_helper.to_array(inits.pop(node.input[1]))
        folded.append(numpy_helper.from_array(weights * scale, node.output[0]))
        dropped.update((index, cast))
    kept = [node for index, node in enumerate(nodes) if index not in dropped]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend([*inits.values(), *folded])
    return len(folded)


def _casts_an_initializer(node: onnx.NodeProto, inits: dict[str, onnx.TensorProto]) -> bool:
    return node.op_type == "Cast" and node.input[0] in inits
