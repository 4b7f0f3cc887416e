"""Builds tiny but real .tflite files (a zero-operator pass-through graph) for bad-model tests.

Field slots follow the TFLite schema (schema.fbs): Model{version, operator_codes, subgraphs,
description, buffers}, SubGraph{tensors, inputs, outputs, operators, name},
Tensor{shape, type, buffer, name}, Buffer{data}.
"""

import flatbuffers

TENSOR_TYPES = {"float32": 0, "uint8": 3}


def _int_vector(builder, values):
    builder.StartVector(4, len(values), 4)
    for value in reversed(values):
        builder.PrependInt32(value)
    return builder.EndVector()


def _offset_vector(builder, offsets):
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def passthrough_model(shape, dtype="uint8") -> bytes:
    """A model whose single input tensor is also its output, with the given shape."""
    b = flatbuffers.Builder(1024)
    name = b.CreateString("x")
    shape_vec = _int_vector(b, list(shape))
    b.StartObject(4)
    b.PrependUOffsetTRelativeSlot(0, shape_vec, 0)
    b.PrependInt8Slot(1, TENSOR_TYPES[dtype], 0)
    b.PrependUint32Slot(2, 0, 0)
    b.PrependUOffsetTRelativeSlot(3, name, 0)
    tensor = b.EndObject()
    tensors = _offset_vector(b, [tensor])
    inputs = _int_vector(b, [0])
    outputs = _int_vector(b, [0])
    operators = _offset_vector(b, [])
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, tensors, 0)
    b.PrependUOffsetTRelativeSlot(1, inputs, 0)
    b.PrependUOffsetTRelativeSlot(2, outputs, 0)
    b.PrependUOffsetTRelativeSlot(3, operators, 0)
    subgraph = b.EndObject()
    b.StartObject(1)
    empty_buffer = b.EndObject()
    subgraphs = _offset_vector(b, [subgraph])
    buffers = _offset_vector(b, [empty_buffer])
    codes = _offset_vector(b, [])
    b.StartObject(5)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(1, codes, 0)
    b.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    b.PrependUOffsetTRelativeSlot(4, buffers, 0)
    model = b.EndObject()
    b.Finish(model, file_identifier=b"TFL3")
    data = bytes(b.Output())
    return data + b"\0" * max(0, 2048 - len(data))  # pad past the truncation check
