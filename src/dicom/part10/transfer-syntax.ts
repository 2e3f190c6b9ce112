/**
 * Transfer syntaxes and how their datasets are encoded (PS3.5 §10 and Annex A; UIDs from
 * PS3.6 Annex A, Table A-1).
 *
 * Hand-written: the scanner needs four facts per transfer syntax (VR explicitness, byte order,
 * deflate, encapsulated pixel data); a UID table is smaller than any dependency offering it.
 */

/** How a transfer syntax encodes a dataset (PS3.5 §10). */
export interface TransferSyntaxInfo {
  readonly uid: string;
  readonly name: string;
  /** Elements carry their VR (PS3.5 §7.1.2), or not (§7.1.3). */
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
  /** The whole dataset is a raw deflate stream (PS3.5 §A.5). */
  readonly deflated: boolean;
  /** Pixel Data is encapsulated in fragments (PS3.5 §A.4). */
  readonly encapsulated: boolean;
}

/** Implicit VR Little Endian, the default (PS3.5 §A.1). */
export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
/** Explicit VR Little Endian (PS3.5 §A.2). */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Deflated Explicit VR Little Endian (PS3.5 §A.5). */
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
/** Explicit VR Big Endian, retired (PS3.5 §A.3). */
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
/** JPEG Baseline (Process 1) (PS3.5 §A.4.1). */
export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
/** JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1) (PS3.5 §A.4.1). */
export const JPEG_LOSSLESS_SV1 = '1.2.840.10008.1.2.4.70';
/** JPEG 2000 Image Compression (Lossless Only) (PS3.5 §A.4.4). */
export const JPEG_2000_LOSSLESS = '1.2.840.10008.1.2.4.90';
/** RLE Lossless (PS3.5 §A.4.2). */
export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

type Kind = 'implicit' | 'explicit' | 'big' | 'deflated' | 'encapsulated';

const P = '1.2.840.10008.1.2';
const TABLE: ReadonlyArray<readonly [string, string, Kind]> = [
  [P, 'Implicit VR Little Endian', 'implicit'],
  [`${P}.1`, 'Explicit VR Little Endian', 'explicit'],
  [`${P}.1.98`, 'Encapsulated Uncompressed Explicit VR Little Endian', 'encapsulated'],
  [`${P}.1.99`, 'Deflated Explicit VR Little Endian', 'deflated'],
  [`${P}.2`, 'Explicit VR Big Endian', 'big'],
  [`${P}.4.50`, 'JPEG Baseline (Process 1)', 'encapsulated'],
  [`${P}.4.51`, 'JPEG Extended (Process 2 & 4)', 'encapsulated'],
  [`${P}.4.52`, 'JPEG Extended (Process 3 & 5)', 'encapsulated'],
  [`${P}.4.53`, 'JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)', 'encapsulated'],
  [`${P}.4.54`, 'JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9)', 'encapsulated'],
  [`${P}.4.55`, 'JPEG Full Progression, Non-Hierarchical (Process 10 & 12)', 'encapsulated'],
  [`${P}.4.56`, 'JPEG Full Progression, Non-Hierarchical (Process 11 & 13)', 'encapsulated'],
  [`${P}.4.57`, 'JPEG Lossless, Non-Hierarchical (Process 14)', 'encapsulated'],
  [`${P}.4.58`, 'JPEG Lossless, Non-Hierarchical (Process 15)', 'encapsulated'],
  [`${P}.4.59`, 'JPEG Extended, Hierarchical (Process 16 & 18)', 'encapsulated'],
  [`${P}.4.60`, 'JPEG Extended, Hierarchical (Process 17 & 19)', 'encapsulated'],
  [`${P}.4.61`, 'JPEG Spectral Selection, Hierarchical (Process 20 & 22)', 'encapsulated'],
  [`${P}.4.62`, 'JPEG Spectral Selection, Hierarchical (Process 21 & 23)', 'encapsulated'],
  [`${P}.4.63`, 'JPEG Full Progression, Hierarchical (Process 24 & 26)', 'encapsulated'],
  [`${P}.4.64`, 'JPEG Full Progression, Hierarchical (Process 25 & 27)', 'encapsulated'],
  [`${P}.4.65`, 'JPEG Lossless, Hierarchical (Process 28)', 'encapsulated'],
  [`${P}.4.66`, 'JPEG Lossless, Hierarchical (Process 29)', 'encapsulated'],
  [`${P}.4.70`, 'JPEG Lossless, Non-Hierarchical, First-Order Prediction', 'encapsulated'],
  [`${P}.4.80`, 'JPEG-LS Lossless Image Compression', 'encapsulated'],
  [`${P}.4.81`, 'JPEG-LS Lossy (Near-Lossless) Image Compression', 'encapsulated'],
  [`${P}.4.90`, 'JPEG 2000 Image Compression (Lossless Only)', 'encapsulated'],
  [`${P}.4.91`, 'JPEG 2000 Image Compression', 'encapsulated'],
  [`${P}.4.92`, 'JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)', 'encapsulated'],
  [`${P}.4.93`, 'JPEG 2000 Part 2 Multi-component Image Compression', 'encapsulated'],
  // JPIP referenced syntaxes carry no pixel data, only a provider URL (PS3.5 §A.6, §A.7).
  [`${P}.4.94`, 'JPIP Referenced', 'explicit'],
  [`${P}.4.95`, 'JPIP Referenced Deflate', 'deflated'],
  [`${P}.4.100`, 'MPEG2 Main Profile / Main Level', 'encapsulated'],
  [`${P}.4.100.1`, 'Fragmentable MPEG2 Main Profile / Main Level', 'encapsulated'],
  [`${P}.4.101`, 'MPEG2 Main Profile / High Level', 'encapsulated'],
  [`${P}.4.101.1`, 'Fragmentable MPEG2 Main Profile / High Level', 'encapsulated'],
  [`${P}.4.102`, 'MPEG-4 AVC/H.264 High Profile / Level 4.1', 'encapsulated'],
  [`${P}.4.102.1`, 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1', 'encapsulated'],
  [`${P}.4.103`, 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1', 'encapsulated'],
  [`${P}.4.103.1`, 'Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1', 'encapsulated'],
  [`${P}.4.104`, 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video', 'encapsulated'],
  [`${P}.4.104.1`, 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video', 'encapsulated'],
  [`${P}.4.105`, 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video', 'encapsulated'],
  [`${P}.4.105.1`, 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video', 'encapsulated'],
  [`${P}.4.106`, 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2', 'encapsulated'],
  [`${P}.4.106.1`, 'Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2', 'encapsulated'],
  [`${P}.4.107`, 'HEVC/H.265 Main Profile / Level 5.1', 'encapsulated'],
  [`${P}.4.108`, 'HEVC/H.265 Main 10 Profile / Level 5.1', 'encapsulated'],
  [`${P}.4.110`, 'JPEG XL Lossless', 'encapsulated'],
  [`${P}.4.111`, 'JPEG XL JPEG Recompression', 'encapsulated'],
  [`${P}.4.112`, 'JPEG XL', 'encapsulated'],
  [`${P}.4.201`, 'High-Throughput JPEG 2000 Image Compression (Lossless Only)', 'encapsulated'],
  [`${P}.4.202`, 'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)', 'encapsulated'],
  [`${P}.4.203`, 'High-Throughput JPEG 2000 Image Compression', 'encapsulated'],
  [`${P}.4.204`, 'JPIP HTJ2K Referenced', 'explicit'],
  [`${P}.4.205`, 'JPIP HTJ2K Referenced Deflate', 'deflated'],
  [`${P}.5`, 'RLE Lossless', 'encapsulated'],
  // SMPTE ST 2110 syntaxes reference essence outside the dataset, itself explicit VR LE (PS3.5 §A.10).
  [`${P}.7.1`, 'SMPTE ST 2110-20 Uncompressed Progressive Active Video', 'explicit'],
  [`${P}.7.2`, 'SMPTE ST 2110-20 Uncompressed Interlaced Active Video', 'explicit'],
  [`${P}.7.3`, 'SMPTE ST 2110-30 PCM Digital Audio', 'explicit'],
  [`${P}.8.1`, 'Deflated Image Frame Compression', 'encapsulated'],
  ['1.2.840.10008.1.20', 'Papyrus 3 Implicit VR Little Endian', 'implicit'],
];

function toInfo(uid: string, name: string, kind: Kind): TransferSyntaxInfo {
  return Object.freeze({
    uid,
    name,
    explicitVr: kind !== 'implicit',
    littleEndian: kind !== 'big',
    deflated: kind === 'deflated',
    encapsulated: kind === 'encapsulated',
  });
}

const INFO: ReadonlyMap<string, TransferSyntaxInfo> = new Map(
  TABLE.map(([uid, name, kind]) => [uid, toInfo(uid, name, kind)]),
);

/** Strips the NUL/space padding a UI value may carry (PS3.5 §6.2, §9.1). */
function trimUid(uid: string): string {
  return uid.replace(/[\0 ]+$/, '');
}

/**
 * How a transfer syntax encodes a dataset, or undefined when we cannot read it (private or
 * unknown UIDs, the retired MIME/XML encodings of PS3.5 §A.8/§A.9). PS3.5 §10, PS3.6 Annex A.
 */
export function transferSyntaxInfo(uid: string): TransferSyntaxInfo | undefined {
  return INFO.get(trimUid(uid));
}

/** True when {@link transferSyntaxInfo} knows how to read this transfer syntax (PS3.5 §10). */
export function isTransferSyntaxSupported(uid: string): boolean {
  return INFO.has(trimUid(uid));
}

/** Every transfer syntax UID this module can read (PS3.6 Annex A). */
export function supportedTransferSyntaxes(): string[] {
  return [...INFO.keys()];
}
