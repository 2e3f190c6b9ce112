/**
 * Builds synthetic DICOM instances for tests and the benchmark: explicit VR little endian
 * datasets with the attributes a PACS sends, written as Part 10 files. Independent of the
 * code under test on purpose (its own tiny encoder), so a bug in src/ cannot hide itself.
 */
import { writeFile } from 'node:fs/promises';

/** One element to encode. */
export interface ElementSpec {
  group: number;
  element: number;
  vr: string;
  value: Buffer | string;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** Pads a value to even length: NUL for UI and binary VRs, space for text (PS3.5 §6.2). */
function pad(vr: string, value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  if (bytes.length % 2 === 0) return bytes;
  const padByte = vr === 'UI' || vr === 'OB' || vr === 'UN' ? 0x00 : 0x20;
  return Buffer.concat([bytes, Buffer.from([padByte])]);
}

/** Encodes one element in explicit VR little endian. */
export function encodeElement(spec: ElementSpec): Buffer {
  const value = pad(spec.vr, spec.value);
  const long = LONG_VRS.has(spec.vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(spec.group, 0);
  header.writeUInt16LE(spec.element, 2);
  header.write(spec.vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

/** Encodes a dataset (elements sorted by tag, as PS3.5 §7.1 requires). */
export function encodeDataset(elements: ElementSpec[]): Buffer {
  const sorted = [...elements].sort((a, b) => a.group - b.group || a.element - b.element);
  return Buffer.concat(sorted.map(encodeElement));
}

/** The File Meta Information of a Part 10 file (PS3.10 §7.1), written by the test's own code. */
export function encodeFileMeta(sopClassUid: string, sopInstanceUid: string, tsUid: string): Buffer {
  const body = Buffer.concat([
    encodeElement({ group: 2, element: 1, vr: 'OB', value: Buffer.from([0, 1]) }),
    encodeElement({ group: 2, element: 2, vr: 'UI', value: sopClassUid }),
    encodeElement({ group: 2, element: 3, vr: 'UI', value: sopInstanceUid }),
    encodeElement({ group: 2, element: 0x10, vr: 'UI', value: tsUid }),
    encodeElement({ group: 2, element: 0x12, vr: 'UI', value: '1.2.826.0.1.3680043.9.7156.1' }),
  ]);
  const groupLength = encodeElement({ group: 2, element: 0, vr: 'UL', value: Buffer.from(Uint32Array.of(body.length).buffer) });
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), groupLength, body]);
}

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const SECONDARY_CAPTURE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/** What a synthetic instance carries. */
export interface InstanceSpec {
  patientName: string;
  patientId: string;
  birthDate?: string;
  sex?: string;
  studyDate?: string;
  studyDescription?: string;
  modality?: string;
  studyUid: string;
  seriesUid: string;
  seriesNumber: number;
  sopUid: string;
  instanceNumber: number;
  sopClassUid?: string;
  /** Extra elements, e.g. the CRYPE-ID tag. */
  extra?: ElementSpec[];
  /** Rows × columns of 16-bit pixels (0 = no pixel data). */
  rows?: number;
  columns?: number;
  /** Frames of pixel data (multi-frame). */
  frames?: number;
  /** Pixel data to use instead of the generated ramp (rows × columns × 2 × frames bytes). */
  pixelData?: Buffer;
}

/** Builds the dataset (without file meta) of a synthetic instance. */
export function buildInstance(spec: InstanceSpec): Buffer {
  const rows = spec.rows ?? 0;
  const columns = spec.columns ?? 0;
  const frames = spec.frames ?? 1;
  const us = (n: number) => Buffer.from(Uint16Array.of(n).buffer);
  const elements: ElementSpec[] = [
    { group: 0x0008, element: 0x0005, vr: 'CS', value: 'ISO_IR 100' },
    { group: 0x0008, element: 0x0016, vr: 'UI', value: spec.sopClassUid ?? CT_IMAGE_STORAGE },
    { group: 0x0008, element: 0x0018, vr: 'UI', value: spec.sopUid },
    { group: 0x0008, element: 0x0020, vr: 'DA', value: spec.studyDate ?? '20040722' },
    { group: 0x0008, element: 0x0060, vr: 'CS', value: spec.modality ?? 'CT' },
    { group: 0x0008, element: 0x1030, vr: 'LO', value: spec.studyDescription ?? 'Thorax^01 Thorax Std.' },
    { group: 0x0010, element: 0x0010, vr: 'PN', value: spec.patientName },
    { group: 0x0010, element: 0x0020, vr: 'LO', value: spec.patientId },
    { group: 0x0010, element: 0x0030, vr: 'DA', value: spec.birthDate ?? '19290505' },
    { group: 0x0010, element: 0x0040, vr: 'CS', value: spec.sex ?? 'M' },
    { group: 0x0020, element: 0x000d, vr: 'UI', value: spec.studyUid },
    { group: 0x0020, element: 0x000e, vr: 'UI', value: spec.seriesUid },
    { group: 0x0020, element: 0x0011, vr: 'IS', value: String(spec.seriesNumber) },
    { group: 0x0020, element: 0x0013, vr: 'IS', value: String(spec.instanceNumber) },
    ...(spec.extra ?? []),
  ];
  if (rows > 0 && columns > 0) {
    elements.push(
      { group: 0x0028, element: 0x0002, vr: 'US', value: us(1) },
      { group: 0x0028, element: 0x0004, vr: 'CS', value: 'MONOCHROME2' },
      { group: 0x0028, element: 0x0008, vr: 'IS', value: String(frames) },
      { group: 0x0028, element: 0x0010, vr: 'US', value: us(rows) },
      { group: 0x0028, element: 0x0011, vr: 'US', value: us(columns) },
      { group: 0x0028, element: 0x0100, vr: 'US', value: us(16) },
      { group: 0x0028, element: 0x0101, vr: 'US', value: us(12) },
      { group: 0x0028, element: 0x0102, vr: 'US', value: us(11) },
      { group: 0x0028, element: 0x0103, vr: 'US', value: us(0) },
    );
    let pixels = spec.pixelData;
    if (!pixels) {
      pixels = Buffer.alloc(rows * columns * 2 * frames);
      // Deterministic, not all zeros, cheap to make: a ramp seeded by the instance number.
      for (let i = 0; i < pixels.length; i += 2) pixels.writeUInt16LE((i / 2 + spec.instanceNumber * 7) & 0x0fff, i);
    }
    elements.push({ group: 0x7fe0, element: 0x0010, vr: 'OW', value: pixels });
  }
  return encodeDataset(elements);
}

/** Writes a synthetic instance as a Part 10 file; returns the dataset bytes (without meta). */
export async function writeInstanceFile(path: string, spec: InstanceSpec): Promise<Buffer> {
  const dataset = buildInstance(spec);
  await writeFile(path, Buffer.concat([encodeFileMeta(spec.sopClassUid ?? CT_IMAGE_STORAGE, spec.sopUid, EXPLICIT_LE), dataset]));
  return dataset;
}

/** A UID under a test root, unique per run. */
let uidCounter = 0;
const runStamp = `${Date.now()}${process.pid}`;
export function testUid(): string {
  uidCounter += 1;
  return `1.2.826.0.1.3680043.9.7156.${runStamp}.${uidCounter}`;
}
