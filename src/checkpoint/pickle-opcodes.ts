// Every opcode of pickle protocols 0–5 by byte, with its name and the protocol that introduced it
// (CPython's Lib/pickletools.py), so an opcode the safe unpickler does not read is named in errors.

interface OpcodeInfo {
  readonly name: string
  readonly protocol: number
}

const table: Readonly<Record<number, OpcodeInfo>> = {
  // protocol 0
  0x28: { name: "MARK", protocol: 0 },
  0x2e: { name: "STOP", protocol: 0 },
  0x30: { name: "POP", protocol: 0 },
  0x31: { name: "POP_MARK", protocol: 1 },
  0x32: { name: "DUP", protocol: 0 },
  0x46: { name: "FLOAT", protocol: 0 },
  0x49: { name: "INT", protocol: 0 },
  0x4c: { name: "LONG", protocol: 0 },
  0x4e: { name: "NONE", protocol: 0 },
  0x50: { name: "PERSID", protocol: 0 },
  0x52: { name: "REDUCE", protocol: 0 },
  0x53: { name: "STRING", protocol: 0 },
  0x56: { name: "UNICODE", protocol: 0 },
  0x61: { name: "APPEND", protocol: 0 },
  0x62: { name: "BUILD", protocol: 0 },
  0x63: { name: "GLOBAL", protocol: 0 },
  0x64: { name: "DICT", protocol: 0 },
  0x67: { name: "GET", protocol: 0 },
  0x69: { name: "INST", protocol: 0 },
  0x6c: { name: "LIST", protocol: 0 },
  0x70: { name: "PUT", protocol: 0 },
  0x73: { name: "SETITEM", protocol: 0 },
  0x74: { name: "TUPLE", protocol: 0 },
  // protocol 1
  0x29: { name: "EMPTY_TUPLE", protocol: 1 },
  0x47: { name: "BINFLOAT", protocol: 1 },
  0x4a: { name: "BININT", protocol: 1 },
  0x4b: { name: "BININT1", protocol: 1 },
  0x4d: { name: "BININT2", protocol: 1 },
  0x51: { name: "BINPERSID", protocol: 1 },
  0x54: { name: "BINSTRING", protocol: 1 },
  0x55: { name: "SHORT_BINSTRING", protocol: 1 },
  0x58: { name: "BINUNICODE", protocol: 1 },
  0x5d: { name: "EMPTY_LIST", protocol: 1 },
  0x65: { name: "APPENDS", protocol: 1 },
  0x68: { name: "BINGET", protocol: 1 },
  0x6a: { name: "LONG_BINGET", protocol: 1 },
  0x6f: { name: "OBJ", protocol: 1 },
  0x71: { name: "BINPUT", protocol: 1 },
  0x72: { name: "LONG_BINPUT", protocol: 1 },
  0x75: { name: "SETITEMS", protocol: 1 },
  0x7d: { name: "EMPTY_DICT", protocol: 1 },
  // protocol 2
  0x80: { name: "PROTO", protocol: 2 },
  0x81: { name: "NEWOBJ", protocol: 2 },
  0x82: { name: "EXT1", protocol: 2 },
  0x83: { name: "EXT2", protocol: 2 },
  0x84: { name: "EXT4", protocol: 2 },
  0x85: { name: "TUPLE1", protocol: 2 },
  0x86: { name: "TUPLE2", protocol: 2 },
  0x87: { name: "TUPLE3", protocol: 2 },
  0x88: { name: "NEWTRUE", protocol: 2 },
  0x89: { name: "NEWFALSE", protocol: 2 },
  0x8a: { name: "LONG1", protocol: 2 },
  0x8b: { name: "LONG4", protocol: 2 },
  // protocol 3
  0x42: { name: "BINBYTES", protocol: 3 },
  0x43: { name: "SHORT_BINBYTES", protocol: 3 },
  // protocol 4
  0x8c: { name: "SHORT_BINUNICODE", protocol: 4 },
  0x8d: { name: "BINUNICODE8", protocol: 4 },
  0x8e: { name: "BINBYTES8", protocol: 4 },
  0x8f: { name: "EMPTY_SET", protocol: 4 },
  0x90: { name: "ADDITEMS", protocol: 4 },
  0x91: { name: "FROZENSET", protocol: 4 },
  0x92: { name: "NEWOBJ_EX", protocol: 4 },
  0x93: { name: "STACK_GLOBAL", protocol: 4 },
  0x94: { name: "MEMOIZE", protocol: 4 },
  0x95: { name: "FRAME", protocol: 4 },
  // protocol 5
  0x96: { name: "BYTEARRAY8", protocol: 5 },
  0x97: { name: "NEXT_BUFFER", protocol: 5 },
  0x98: { name: "READONLY_BUFFER", protocol: 5 },
}

const hex = (byte: number): string => `0x${byte.toString(16).padStart(2, "0")}`

/** Why the unpickler stops at `byte`: it names the opcode, or says the byte is none, and what to do. */
export const unreadableOpcodeMessage = (byte: number): string => {
  const info = table[byte]
  if (info === undefined) {
    return `byte ${hex(byte)} is not an opcode of pickle protocols 0–5: the file is corrupt or not a torch.save pickle; re-save the checkpoint (torch.save, or as safetensors)`
  }
  return `pickle opcode ${hex(byte)} ${info.name} (protocol ${info.protocol}) is not one torch.save writes, so kiln does not read it; re-save the checkpoint with torch.save (protocol 2) or as safetensors`
}
