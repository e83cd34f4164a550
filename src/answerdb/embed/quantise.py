"""MiniLM's graph with integer matrix products: built once from the pinned model, then cached.

The pinned ONNX file keeps its weights as int8 but turns them back into float32 inside the
graph (Cast, then Mul by a per-column scale), so every MatMul runs in float32. This module
folds those weights into plain float32 initializers and re-quantises them with onnxruntime's
``quantize_dynamic``: per output column, signed 7-bit weights (``reduce_range``: no int16
saturation on CPUs without VNNI, so every machine computes the same vectors), activations
quantised per batch at run time. The file is cached under ``$ANSWERDB_CACHE/models``, named by
recipe and by the source model's sha256. Measured choices: docs/models.md.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # onnx takes most of a second to import: only a build needs it
    import onnx

# Bump when the recipe changes: it names the cache file and the recorded revision.
RECIPE = "onnx-dynint8-v1"
log = logging.getLogger(__name__)


def quantised_file_name(source_sha256: str) -> str:
    """Keyed by recipe and source model: a new recipe or model never reads an old graph."""
    return f"all-MiniLM-L6-v2-{RECIPE}-{source_sha256[:16]}.onnx"


def cached_quantised_model(source: Path, source_sha256: str, cache_dir: Path) -> Path:
    """The cached integer graph for ``source``, built first when missing (a few seconds)."""
    path = cache_dir / quantised_file_name(source_sha256)
    if not path.exists():
        log.info("building MiniLM's integer graph (once; cached at %s)", path)
        build_quantised(source, path)
    return path


def build_quantised(source: Path, dest: Path) -> None:
    """Write the integer graph of ``source`` to ``dest`` atomically: built beside it under a
    temporary name, then renamed, so concurrent builders and readers never see half a file."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as work:
        folded = Path(work) / "float.onnx"
        model = onnx.load(str(source))
        fold_dequantised_weights(model.graph)
        onnx.save(model, str(folded))
        built = Path(work) / "int8.onnx"
        quantize_dynamic(
            folded,
            built,
            op_types_to_quantize=["MatMul"],  # not Gather: the embedding tables stay as they are
            per_channel=True,
            reduce_range=True,
            weight_type=QuantType.QInt8,
        )
        os.chmod(built, 0o644)  # a shared cache should be readable by its other users
        os.replace(built, dest)


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
