/**
 * Our own C-STORE/C-ECHO SCU (src/dicom) for tests that must send bytes no real peer would
 * send as they are, e.g. a dataset that carries file meta elements.
 */
import { cEcho } from '../../src/dicom/dimse/echo.js';
import { DimseServiceUser } from '../../src/dicom/dimse/service-user.js';
import { cStore, type CStoreResult } from '../../src/dicom/dimse/store.js';
import { requestAssociation, type RequestorAssociation } from '../../src/dicom/ul/requestor.js';
import { testLogger } from './bridge-harness.js';

export const VERIFICATION = '1.2.840.10008.1.1';
export const IMPLICIT_LE = '1.2.840.10008.1.2';

/** An open association with one context per (abstract syntax, transfer syntax) pair asked for. */
export interface TestScu {
  assoc: RequestorAssociation;
  /** C-STORE of `dataset` on the context of (sopClassUid, ts). */
  store(sopClassUid: string, ts: string, sopInstanceUid: string, dataset: Buffer): Promise<CStoreResult>;
  /** C-ECHO status. */
  echo(): Promise<number>;
  release(): Promise<void>;
  abort(): Promise<void>;
}

async function* chunks(bytes: Buffer, size = 16_384): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Opens an association to 127.0.0.1:port proposing each pair as its own context, plus Verification. */
export async function openScu(port: number, pairs: Array<[sopClassUid: string, ts: string]>, calledAet = 'CRYPE_DCM'): Promise<TestScu> {
  const distinct = [...new Map(pairs.map((p) => [`${p[0]}|${p[1]}`, p])).values()];
  const contexts = [{ pcId: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }];
  distinct.forEach(([abstractSyntax, ts], i) => contexts.push({ pcId: 3 + 2 * i, abstractSyntax, transferSyntaxes: [ts] }));
  const assoc = await requestAssociation({
    host: '127.0.0.1', port, callingAeTitle: 'TESTSCU', calledAeTitle: calledAet, contexts,
    maxPduLength: 65536, connectTimeoutMs: 10_000, artimTimeoutMs: 10_000, log: testLogger(),
  });
  const user = new DimseServiceUser(assoc, testLogger());
  assoc.setHandler(user);
  const pcIdOf = (sopClassUid: string, ts: string): number => {
    for (const [pcId, ctx] of assoc.contexts) {
      const c = contexts.find((x) => x.pcId === pcId);
      if (c && c.abstractSyntax === sopClassUid && c.transferSyntaxes[0] === ts && ctx.transferSyntax === ts) return pcId;
    }
    throw new Error(`no accepted context for ${sopClassUid} in ${ts}`);
  };
  return {
    assoc,
    store: (sopClassUid, ts, sopInstanceUid, dataset) =>
      cStore(user, assoc, pcIdOf(sopClassUid, ts), { sopClassUid, sopInstanceUid, dataset: chunks(dataset), timeoutMs: 30_000 }),
    echo: async () => (await cEcho(user, assoc, 1, { timeoutMs: 10_000 })).status,
    release: () => assoc.release(),
    abort: async () => {
      assoc.abort();
      await assoc.closed;
    },
  };
}
