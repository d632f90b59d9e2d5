// The subset of the ONNX IR protobuf schema kiln reads and writes, built with protobufjs
// reflection. Field numbers and enum values follow onnx.proto (proto2, IR version 11).
import protobuf from "protobufjs"

// Written from the ONNX IR spec. Only what kiln needs is declared; unknown fields in files
// written by other tools are skipped by the decoder (we never re-emit them).
const ONNX_IR_SCHEMA = `
syntax = "proto2";
package onnx;

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0;
    FLOAT = 1;
    UINT8 = 2;
    INT8 = 3;
    UINT16 = 4;
    INT16 = 5;
    INT32 = 6;
    INT64 = 7;
    STRING = 8;
    BOOL = 9;
    FLOAT16 = 10;
    DOUBLE = 11;
    UINT32 = 12;
    UINT64 = 13;
    COMPLEX64 = 14;
    COMPLEX128 = 15;
    BFLOAT16 = 16;
    FLOAT8E4M3FN = 17;
    FLOAT8E4M3FNUZ = 18;
    FLOAT8E5M2 = 19;
    FLOAT8E5M2FNUZ = 20;
    UINT4 = 21;
    INT4 = 22;
    FLOAT4E2M1 = 23;
  }
  enum DataLocation {
    DEFAULT = 0;
    EXTERNAL = 1;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  optional string doc_string = 12;
  repeated StringStringEntryProto external_data = 13;
  optional DataLocation data_location = 14;
}

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT = 2;
    STRING = 3;
    TENSOR = 4;
    GRAPH = 5;
    FLOATS = 6;
    INTS = 7;
    STRINGS = 8;
    TENSORS = 9;
    GRAPHS = 10;
    SPARSE_TENSOR = 11;
    SPARSE_TENSORS = 12;
    TYPE_PROTO = 13;
    TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional string ref_attr_name = 21;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}
`

const root = protobuf.parse(ONNX_IR_SCHEMA, { keepCase: true }).root

export const ModelProtoType: protobuf.Type = root.lookupType("onnx.ModelProto")
export const GraphProtoType: protobuf.Type = root.lookupType("onnx.GraphProto")
export const TensorProtoType: protobuf.Type = root.lookupType("onnx.TensorProto")

/** TensorProto.DataType values. */
export const OnnxDataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22, FLOAT4E2M1: 23,
} as const

/** AttributeProto.AttributeType values. */
export const OnnxAttributeType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const

export const OnnxDataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const

// Plain-object shapes of the messages as protobufjs encodes them (keepCase). int64 fields
// accept number | Long on encode and decode to Long (the `long` package is present).
export interface LongLike { toNumber(): number; toString(): string; high: number; low: number }
export type Int64 = number | string | LongLike

export interface StringStringEntryMsg { key?: string; value?: string }
export interface OperatorSetIdMsg { domain?: string; version?: Int64 }
export interface DimensionMsg { dim_value?: Int64; dim_param?: string; denotation?: string }
export interface TensorShapeMsg { dim?: DimensionMsg[] }
export interface TypeMsg { tensor_type?: { elem_type?: number; shape?: TensorShapeMsg }; denotation?: string }
export interface ValueInfoMsg { name?: string; type?: TypeMsg; doc_string?: string }
export interface TensorMsg {
  dims?: Int64[]
  data_type?: number
  float_data?: number[]
  int32_data?: number[]
  string_data?: Uint8Array[]
  int64_data?: Int64[]
  name?: string
  raw_data?: Uint8Array
  double_data?: number[]
  uint64_data?: Int64[]
  doc_string?: string
  external_data?: StringStringEntryMsg[]
  data_location?: number
}
export interface AttributeMsg {
  name?: string
  f?: number
  i?: Int64
  s?: Uint8Array
  t?: TensorMsg
  g?: GraphMsg
  floats?: number[]
  ints?: Int64[]
  strings?: Uint8Array[]
  tensors?: TensorMsg[]
  graphs?: GraphMsg[]
  doc_string?: string
  type?: number
  ref_attr_name?: string
}
export interface NodeMsg {
  input?: string[]
  output?: string[]
  name?: string
  op_type?: string
  attribute?: AttributeMsg[]
  doc_string?: string
  domain?: string
}
export interface GraphMsg {
  node?: NodeMsg[]
  name?: string
  initializer?: TensorMsg[]
  doc_string?: string
  input?: ValueInfoMsg[]
  output?: ValueInfoMsg[]
  value_info?: ValueInfoMsg[]
}
export interface ModelMsg {
  ir_version?: Int64
  producer_name?: string
  producer_version?: string
  domain?: string
  model_version?: Int64
  doc_string?: string
  graph?: GraphMsg
  opset_import?: OperatorSetIdMsg[]
  metadata_props?: StringStringEntryMsg[]
}
