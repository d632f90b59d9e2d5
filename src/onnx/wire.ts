// Low-level protobuf wire pieces the streaming writer needs: varint-prefixed field headers whose
// lengths may exceed 32 bits, and protobufjs encodings of message heads.
import type protobuf from "protobufjs"
import { GraphProtoType, ModelProtoType, TensorProtoType, type GraphMsg, type ModelMsg, type TensorMsg } from "./schema.ts"

/** Varint bytes for a non-negative safe integer (protobufjs writers stop at 32 bits for lengths). */
export const varint = (value: number): Uint8Array => {
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
  return Uint8Array.from(out)
}

/** Tag (wire type 2) and length prefix of a length-delimited field of `length` bytes. */
export const lengthDelimitedHeader = (fieldNumber: number, length: number): Uint8Array => {
  const tag = varint(fieldNumber * 8 + 2)
  const len = varint(length)
  const out = new Uint8Array(tag.byteLength + len.byteLength)
  out.set(tag, 0)
  out.set(len, tag.byteLength)
  return out
}

const encode = (type: protobuf.Type, msg: object): Uint8Array => type.encode(type.fromObject(msg)).finish()

export const encodeModelProtoHead = (msg: ModelMsg): Uint8Array => encode(ModelProtoType, msg)
export const encodeGraphProtoHead = (msg: GraphMsg): Uint8Array => encode(GraphProtoType, msg)
export const encodeTensorProtoHead = (msg: TensorMsg): Uint8Array => encode(TensorProtoType, msg)
