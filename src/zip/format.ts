// Record signatures and fixed sizes of the ZIP format (APPNOTE 6.3), shared by reader and writer.

export const LOCAL_HEADER_SIGNATURE = 0x04034b50
export const CENTRAL_HEADER_SIGNATURE = 0x02014b50
export const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50
export const ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06064b50
export const ZIP64_LOCATOR_SIGNATURE = 0x07064b50

export const LOCAL_HEADER_SIZE = 30
export const CENTRAL_HEADER_SIZE = 46
export const END_OF_CENTRAL_DIRECTORY_SIZE = 22
export const ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE = 56
export const ZIP64_LOCATOR_SIZE = 20

/** Extra-field id of the ZIP64 sizes/offset field. */
export const ZIP64_EXTRA_ID = 0x0001
/** Extra-field id PyTorch uses for alignment padding ("FB" in the file). */
export const PADDING_EXTRA_ID = 0x4246

/** A 32-bit size or offset with this value means "see the ZIP64 field". */
export const ZIP32_SENTINEL = 0xffffffff
export const ENTRY_COUNT_SENTINEL = 0xffff

export const METHOD_STORED = 0
export const METHOD_DEFLATE = 8

/** Flag bit 11: the name is UTF-8. */
export const FLAG_UTF8 = 0x0800
export const FLAG_ENCRYPTED = 0x0001

/** 1980-01-01 00:00:00 in MS-DOS format, the earliest representable time, so output is reproducible. */
export const FIXED_DOS_TIME = 0
export const FIXED_DOS_DATE = (0 << 9) | (1 << 5) | 1

/** Unix file-type bits of the mode kept in an entry's external attributes (upper 16 bits). */
export const S_IFMT = 0o170000
export const S_IFLNK = 0o120000
