// Proves the zip writer and reader agree with each other and with Python's zipfile, take the
// ZIP64 path when sizes/offsets/counts need it, and reject unsafe, truncated or corrupt archives.
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { deflateRawSync } from "node:zlib"
import { crc32 } from "./crc32.ts"
import { ZipError } from "./errors.ts"
import { ZipReader } from "./reader.ts"
import { needsZip64End, writeZip, ZipWriter, zip64Fields } from "./writer.ts"

const dir = mkdtempSync(join(tmpdir(), "kiln-zip-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const hasPython = (() => {
  try {
    return Bun.spawnSync(["python3", "-c", "import zipfile"]).exitCode === 0
  } catch {
    return false
  }
})()

const bytesOf = (seed: number, length: number): Uint8Array => {
  const out = new Uint8Array(length)
  let state = seed
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    out[i] = state >>> 24
  }
  return out
}

/** Builds an archive by hand, so tests can make entries our writer refuses (`..`, deflate …). */
const handBuiltZip = (
  entries: readonly { name: string; data: Uint8Array; deflate?: boolean; declaredSize?: number; unixMode?: number }[],
): Uint8Array => {
  const parts: Uint8Array[] = []
  const central: Uint8Array[] = []
  let offset = 0
  for (const entry of entries) {
    const name = new TextEncoder().encode(entry.name)
    const body = entry.deflate ? deflateRawSync(entry.data) : entry.data
    const local = new DataView(new ArrayBuffer(30))
    local.setUint32(0, 0x04034b50, true)
    local.setUint16(8, entry.deflate ? 8 : 0, true)
    local.setUint32(14, crc32(entry.data), true)
    local.setUint32(18, body.length, true)
    local.setUint32(22, entry.declaredSize ?? entry.data.length, true)
    local.setUint16(26, name.length, true)
    const header = new DataView(new ArrayBuffer(46))
    header.setUint32(0, 0x02014b50, true)
    header.setUint16(10, entry.deflate ? 8 : 0, true)
    header.setUint32(16, crc32(entry.data), true)
    header.setUint32(20, body.length, true)
    header.setUint32(24, entry.declaredSize ?? entry.data.length, true)
    if (entry.unixMode !== undefined) {
      header.setUint16(4, (3 << 8) | 20, true) // made by: Unix
      header.setUint32(38, entry.unixMode << 16, true)
    }
    header.setUint16(28, name.length, true)
    header.setUint32(42, offset, true)
    parts.push(new Uint8Array(local.buffer), name, body)
    central.push(new Uint8Array(header.buffer), name)
    offset += 30 + name.length + body.length
  }
  const centralSize = central.reduce((n, part) => n + part.length, 0)
  const end = new DataView(new ArrayBuffer(22))
  end.setUint32(0, 0x06054b50, true)
  end.setUint16(8, entries.length, true)
  end.setUint16(10, entries.length, true)
  end.setUint32(12, centralSize, true)
  end.setUint32(16, offset, true)
  return Buffer.concat([...parts, ...central, new Uint8Array(end.buffer)])
}

const expectZipError = (run: () => unknown, reason: string, pattern: RegExp): void => {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ZipError)
    expect((error as ZipError).reason).toBe(reason as ZipError["reason"])
    expect((error as Error).message).toMatch(pattern)
    return
  }
  throw new Error("expected a ZipError")
}

describe("zip writer and reader", () => {
  test("round trip: entries, byte ranges and 64-byte aligned data offsets", () => {
    const path = join(dir, "aligned.zip")
    const big = bytesOf(1, 5000)
    writeZip(path, [
      { name: "archive/data.pkl", data: bytesOf(2, 77) },
      { name: "archive/data/0", data: () => big },
      { name: "archive/empty", data: new Uint8Array(0) },
      { name: "ünïcode/ß", data: bytesOf(3, 3) },
    ], { align: 64 })
    const reader = ZipReader.open(path)
    try {
      expect([...reader.entries.keys()]).toEqual(["archive/data.pkl", "archive/data/0", "archive/empty", "ünïcode/ß"])
      for (const entry of reader.entries.values()) expect(entry.dataOffset % 64).toBe(0)
      expect(reader.read("archive/data/0")).toEqual(big)
      expect(reader.readRange("archive/data/0", 1001, 17)).toEqual(big.subarray(1001, 1018))
      expect(reader.read("archive/empty").length).toBe(0)
      expect(reader.read("ünïcode/ß")).toEqual(bytesOf(3, 3))
      expectZipError(() => reader.readRange("archive/data/0", 4990, 20), "InvalidInput", /archive\/data\/0.*outside the entry's 5000 bytes/)
      expectZipError(() => reader.read("missing"), "NotFound", /entry "missing"/)
    } finally {
      reader.close()
    }
  })

  test("zip64 decision: 32-bit fields up to 0xFFFFFFFE, ZIP64 from the sentinel value on", () => {
    expect(zip64Fields(0xfffffffe, 0xfffffffe)).toEqual({ size: false, offset: false })
    expect(zip64Fields(0xffffffff, 0)).toEqual({ size: true, offset: false })
    expect(zip64Fields(10, 5 * 2 ** 32)).toEqual({ size: false, offset: true })
    expect(needsZip64End(0xfffe, 100, 100)).toBe(false)
    expect(needsZip64End(0xffff, 100, 100)).toBe(true)
    expect(needsZip64End(3, 0xffffffff, 0)).toBe(true)
    expect(needsZip64End(3, 10, 2 ** 33)).toBe(true)
  })

  test("with a lowered threshold every ZIP64 field is written and read back", () => {
    const path = join(dir, "zip64.zip")
    const entries = [0, 1, 2, 3].map((i) => ({ name: `e${i}`, data: bytesOf(10 + i, 150 + i) }))
    writeZip(path, entries, { zip64Threshold: 100, align: 64 })
    const bytes = readFileSync(path)
    // ZIP64 end record and locator precede the classic end record; sizes there are sentinels.
    expect(bytes.readUInt32LE(bytes.length - 22 - 20)).toBe(0x07064b50)
    expect(bytes.readUInt32LE(bytes.length - 22 + 12)).toBe(0xffffffff)
    const reader = ZipReader.open(path)
    try {
      for (const entry of entries) {
        expect(reader.read(entry.name)).toEqual(entry.data)
        expect(reader.entry(entry.name).dataOffset % 64).toBe(0)
      }
    } finally {
      reader.close()
    }
  })

  test.skipIf(!hasPython)("Python's zipfile reads our archives, plain and ZIP64", () => {
    const plain = join(dir, "py-plain.zip")
    const zip64 = join(dir, "py-zip64.zip")
    const entries = [0, 1, 2].map((i) => ({ name: `dir/e${i}`, data: bytesOf(20 + i, 300 * (i + 1)) }))
    writeZip(plain, entries, { align: 64 })
    writeZip(zip64, entries, { zip64Threshold: 256 })
    const script = `
import sys, zipfile, hashlib
for path in sys.argv[1:]:
    z = zipfile.ZipFile(path)
    assert z.testzip() is None
    print(" ".join(f"{i.filename}:{i.file_size}:{hashlib.sha256(z.read(i)).hexdigest()[:12]}" for i in z.infolist()))
`
    const result = Bun.spawnSync(["python3", "-c", script, plain, zip64])
    expect(result.stderr.toString()).toBe("")
    const lines = result.stdout.toString().trim().split("\n")
    const expected = entries
      .map((e) => `${e.name}:${e.data.length}:${new Bun.CryptoHasher("sha256").update(e.data).digest("hex").slice(0, 12)}`)
      .join(" ")
    expect(lines).toEqual([expected, expected])
  }, 30_000)

  test("deflated entries are inflated, whole and by range", () => {
    const path = join(dir, "deflate.zip")
    const text = new TextEncoder().encode("abcabcabc".repeat(500))
    writeFileSync(path, handBuiltZip([{ name: "x.npy", data: text, deflate: true }]))
    const reader = ZipReader.open(path)
    try {
      expect(reader.entry("x.npy").method).toBe("deflate")
      expect(reader.read("x.npy")).toEqual(text)
      expect(reader.readRange("x.npy", 3, 6)).toEqual(text.subarray(3, 9))
    } finally {
      reader.close()
    }
  })

  test("an entry that inflates past its declared size is refused naming the entry, without inflating it whole", () => {
    const path = join(dir, "bomb.zip")
    // 16 MiB of zeros deflate to ~16 KB; the directory claims 1000 bytes.
    const bomb = new Uint8Array(16 * 1024 * 1024)
    writeFileSync(path, handBuiltZip([{ name: "archive/data/0", data: bomb, deflate: true, declaredSize: 1000 }]))
    const reader = ZipReader.open(path)
    try {
      // The message gives the declared size only: inflation stopped at the cap, never reaching 16 MiB.
      expectZipError(() => reader.read("archive/data/0"), "Corrupt", /bomb\.zip \(entry "archive\/data\/0"\): inflates past its declared 1000 bytes/)
      expectZipError(() => reader.readRange("archive/data/0", 0, 10), "Corrupt", /entry "archive\/data\/0".*declared 1000 bytes/)
    } finally {
      reader.close()
    }
  })

  test("an entry that inflates to less than its declared size is reported as corrupt", () => {
    const path = join(dir, "short-inflate.zip")
    writeFileSync(path, handBuiltZip([{ name: "x", data: bytesOf(4, 100), deflate: true, declaredSize: 200 }]))
    const reader = ZipReader.open(path)
    try {
      expectZipError(() => reader.read("x"), "Corrupt", /entry "x".*inflated to 100 bytes, the directory says 200/)
    } finally {
      reader.close()
    }
  })

  test("a symbolic-link entry is refused like a `..` entry, naming archive and entry", () => {
    const path = join(dir, "symlink.zip")
    const target = new TextEncoder().encode("/etc/passwd")
    writeFileSync(path, handBuiltZip([{ name: "archive/data/0", data: target, unixMode: 0o120777 }]))
    expectZipError(() => ZipReader.open(path), "UnsafeName", /symlink\.zip \(entry "archive\/data\/0"\): .*symbolic link/)
    // A regular Unix file mode is fine.
    writeFileSync(path, handBuiltZip([{ name: "archive/data/0", data: target, unixMode: 0o100644 }]))
    const reader = ZipReader.open(path)
    expect(reader.read("archive/data/0")).toEqual(target)
    reader.close()
  })

  test("an entry whose name has a `..` segment is rejected, naming archive and entry", () => {
    const path = join(dir, "dotdot.zip")
    writeFileSync(path, handBuiltZip([{ name: "ok", data: bytesOf(1, 4) }, { name: "archive/../../etc/passwd", data: bytesOf(2, 4) }]))
    expectZipError(() => ZipReader.open(path), "UnsafeName", /dotdot\.zip \(entry "archive\/\.\.\/\.\.\/etc\/passwd"\).*`\.\.` segment/)
  })

  test("absolute and drive-letter entry names are rejected", () => {
    for (const name of ["/etc/passwd", "C:\\windows\\x", "a\\..\\b"]) {
      const path = join(dir, "absolute.zip")
      writeFileSync(path, handBuiltZip([{ name, data: bytesOf(1, 4) }]))
      expectZipError(() => ZipReader.open(path), "UnsafeName", /absolute\.zip \(entry/)
    }
  })

  test("the writer refuses unsafe and duplicate names and leaves no file", () => {
    const path = join(dir, "refused.zip")
    expectZipError(() => writeZip(path, [{ name: "../x", data: new Uint8Array(1) }]), "UnsafeName", /entry "\.\.\/x"/)
    expectZipError(
      () => writeZip(path, [{ name: "a", data: new Uint8Array(1) }, { name: "a", data: new Uint8Array(1) }]),
      "InvalidInput",
      /entry "a".*already added/,
    )
    expect(() => readFileSync(path)).toThrow()
  })

  test("a truncated archive is reported as truncated or missing its end record", () => {
    const path = join(dir, "truncated.zip")
    writeZip(path, [{ name: "a", data: bytesOf(1, 1000) }])
    const whole = readFileSync(path)
    writeFileSync(path, whole.subarray(0, 700))
    expectZipError(() => ZipReader.open(path), "BadSignature", /truncated\.zip: .*not a zip archive or it is truncated/)
    writeFileSync(path, whole.subarray(0, 10))
    expectZipError(() => ZipReader.open(path), "Truncated", /too short/)
  })

  test("a central directory pointing past the end of the file is reported as truncated", () => {
    const path = join(dir, "short-directory.zip")
    writeZip(path, [{ name: "a", data: bytesOf(1, 100) }])
    const bytes = Buffer.from(readFileSync(path))
    bytes.writeUInt32LE(bytes.length + 1000, bytes.length - 22 + 16)
    writeFileSync(path, bytes)
    expectZipError(() => ZipReader.open(path), "Truncated", /runs past the end/)
  })

  test("a bad local header signature names the entry", () => {
    const path = join(dir, "bad-signature.zip")
    writeZip(path, [{ name: "a", data: bytesOf(1, 10) }, { name: "b", data: bytesOf(2, 10) }])
    const bytes = Buffer.from(readFileSync(path))
    const secondLocal = 30 + 1 + 10
    expect(bytes.readUInt32LE(secondLocal)).toBe(0x04034b50)
    bytes.writeUInt32LE(0xdeadbeef, secondLocal)
    writeFileSync(path, bytes)
    expectZipError(() => ZipReader.open(path), "BadSignature", /entry "b".*no local file header/)
  })

  test("a flipped data byte fails the CRC check when the entry is read", () => {
    const path = join(dir, "crc.zip")
    writeZip(path, [{ name: "a", data: bytesOf(1, 10) }])
    const bytes = Buffer.from(readFileSync(path))
    bytes[31 + 3] = bytes[31 + 3]! ^ 0xff
    writeFileSync(path, bytes)
    const reader = ZipReader.open(path)
    try {
      expectZipError(() => reader.read("a"), "Corrupt", /entry "a".*CRC-32 mismatch/)
    } finally {
      reader.close()
    }
  })

  test("ZipWriter streams chunks and rejects a chunk total different from the declared size", () => {
    const path = join(dir, "chunks.zip")
    const writer = ZipWriter.create(path)
    writer.addChunks("c", 6, [new Uint8Array([1, 2]), new Uint8Array([3, 4, 5, 6])])
    expectZipError(() => writer.addChunks("d", 5, [new Uint8Array(3)]), "InvalidInput", /entry "d".*declared as 5 bytes/)
    writer.abort()
    expect(() => readFileSync(path)).toThrow()
    writeZip(path, [{ name: "c", data: new Uint8Array([1, 2, 3, 4, 5, 6]) }])
    const reader = ZipReader.open(path)
    expect(reader.read("c")).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6]))
    reader.close()
  })

  test("a missing archive is NotFound naming the path", () => {
    expectZipError(() => ZipReader.open(join(dir, "nope.zip")), "NotFound", /nope\.zip: cannot open/)
  })
})
