import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAssociateRq, negotiateAsAcceptor, readAssociateAc } from '../../../../src/dicom/ul/negotiation.js';
import { abortText, rejectText } from '../../../../src/dicom/ul/reasons.js';
import type { AcceptorPolicy, ContextDecision } from '../../../../src/dicom/ul/negotiation.js';
import type { AAssociateAcPdu, AAssociateRqPdu } from '../../../../src/dicom/ul/pdu.js';
import { ASSOCIATE_AC, ASSOCIATE_RQ_ECHO, ASSOCIATE_RQ_STORE } from '../../../fixtures/pdus.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const MR = '1.2.840.10008.5.1.4.1.1.4';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';

function rq(changes: Partial<AAssociateRqPdu> = {}): AAssociateRqPdu {
  return { ...structuredClone(ASSOCIATE_RQ_STORE.pdu as AAssociateRqPdu), ...changes };
}

function policy(acceptContext: AcceptorPolicy['acceptContext'], aeTitle: string | null = 'STORESCP'): AcceptorPolicy {
  return {
    aeTitle,
    maxPduLength: 262144,
    implementationClassUid: '2.25.1',
    implementationVersionName: 'TEST_1',
    acceptContext,
  };
}

/** Accepts CT and MR, preferring explicit VR little endian; no JPEG. */
function storagePolicy(abstractSyntax: string, tss: readonly string[]): ContextDecision {
  if (abstractSyntax !== CT && abstractSyntax !== MR) return { result: 3 };
  if (tss.includes(EXPLICIT_LE)) return { result: 0, transferSyntax: EXPLICIT_LE };
  if (tss.includes(IMPLICIT_LE)) return { result: 0, transferSyntax: IMPLICIT_LE };
  return { result: 4 };
}

describe('acceptor negotiation', () => {
  it('passes a correct request', () => {
    assert.equal(checkAssociateRq(rq(), { aeTitle: 'STORESCP' }), null);
  });

  it('accepts any called AE title when ours is null or empty', () => {
    assert.equal(checkAssociateRq(rq({ calledAeTitle: 'OTHER' }), { aeTitle: null }), null);
    assert.equal(checkAssociateRq(rq({ calledAeTitle: 'OTHER' }), { aeTitle: '' }), null);
  });

  it('compares called AE titles after trimming spaces', () => {
    assert.equal(checkAssociateRq(rq({ calledAeTitle: 'STORESCP' }), { aeTitle: '  STORESCP ' }), null);
  });

  it('rejects a wrong called AE title with (1, 1, 7)', () => {
    assert.deepStrictEqual(checkAssociateRq(rq({ calledAeTitle: 'OTHER' }), { aeTitle: 'STORESCP' }), { result: 1, source: 1, reason: 7 });
  });

  it('rejects an unknown application context with (1, 1, 2)', () => {
    assert.deepStrictEqual(checkAssociateRq(rq({ applicationContextName: '1.2.3' }), { aeTitle: null }), { result: 1, source: 1, reason: 2 });
  });

  it('rejects a protocol version without bit 0 with (1, 2, 2)', () => {
    assert.deepStrictEqual(checkAssociateRq(rq({ protocolVersion: 2 }), { aeTitle: null }), { result: 1, source: 2, reason: 2 });
  });

  it('answers each context with its own result and chosen transfer syntax', () => {
    const outcome = negotiateAsAcceptor(rq(), policy(storagePolicy));
    assert.ok(outcome.accepted);
    assert.deepStrictEqual(outcome.ac.presentationContexts, [
      { pcId: 1, result: 0, transferSyntax: EXPLICIT_LE },
      { pcId: 3, result: 0, transferSyntax: EXPLICIT_LE },
      { pcId: 5, result: 3, transferSyntax: '1.2.840.10008.1.2.4.50' },
    ]);
    assert.deepStrictEqual(outcome.contexts, [
      { pcId: 1, abstractSyntax: CT, transferSyntax: EXPLICIT_LE },
      { pcId: 3, abstractSyntax: MR, transferSyntax: EXPLICIT_LE },
    ]);
  });

  it('reports results 1, 2 and 4 as decided, and 4 for a context without transfer syntaxes', () => {
    const request = rq();
    request.presentationContexts.push({ pcId: 7, abstractSyntax: CT, transferSyntaxes: [] });
    const results = [1, 2, 4] as const;
    let i = 0;
    const outcome = negotiateAsAcceptor(request, policy((as, tss) => (i < 3 ? { result: results[i++] } : storagePolicy(as, tss))));
    // Every context refused: the association itself is rejected.
    assert.deepStrictEqual(outcome, { accepted: false, reject: { result: 1, source: 1, reason: 1 } });
    const mixed = rq();
    mixed.presentationContexts.push({ pcId: 7, abstractSyntax: CT, transferSyntaxes: [] });
    let j = 0;
    const out2 = negotiateAsAcceptor(mixed, policy(() => (j++ === 0 ? { result: 0, transferSyntax: IMPLICIT_LE } : { result: 2 })));
    assert.ok(out2.accepted);
    assert.deepStrictEqual(out2.ac.presentationContexts.map((c) => c.result), [0, 2, 2, 4]);
  });

  it('refuses a transfer syntax the requestor never proposed (result 4)', () => {
    const outcome = negotiateAsAcceptor(rq(), policy((as) => (as === CT ? { result: 0, transferSyntax: '1.2.840.10008.1.2.2' } : { result: 0 })));
    assert.ok(outcome.accepted);
    assert.equal(outcome.ac.presentationContexts[0].result, 4);
    // No transfer syntax given: the first proposed one.
    assert.equal(outcome.ac.presentationContexts[1].transferSyntax, EXPLICIT_LE);
  });

  it('announces our max length, implementation class and version, and answers role selection (SCP role 0)', () => {
    const outcome = negotiateAsAcceptor(rq(), policy(storagePolicy));
    assert.ok(outcome.accepted);
    assert.deepStrictEqual(outcome.ac.userInformation, {
      maxPduLength: 262144,
      implementationClassUid: '2.25.1',
      roleSelections: [{ sopClassUid: CT, scuRole: 1, scpRole: 0 }],
      implementationVersionName: 'TEST_1',
    });
    assert.equal(outcome.ac.calledAeTitle, 'STORESCP');
    assert.equal(outcome.ac.callingAeTitle, 'STORESCU');
  });

  it('ignores user identity (no user identity AC sub-item)', () => {
    const outcome = negotiateAsAcceptor(rq(), policy(storagePolicy));
    assert.ok(outcome.accepted);
    assert.equal(outcome.ac.userInformation.userIdentityAc, undefined);
  });
});

describe('requestor negotiation', () => {
  it('reads accepted contexts and the peer maximum length from the AC', () => {
    const proposed = [
      ...(ASSOCIATE_RQ_ECHO.pdu as AAssociateRqPdu).presentationContexts,
      { pcId: 3, abstractSyntax: CT, transferSyntaxes: [IMPLICIT_LE] },
    ];
    const read = readAssociateAc(proposed, ASSOCIATE_AC.pdu as AAssociateAcPdu);
    assert.deepStrictEqual([...read.contexts.values()], [{ pcId: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntax: IMPLICIT_LE }]);
    assert.equal(read.peerMaxPduLength, 262144);
  });

  it('ignores contexts never proposed and treats a missing maximum length as 0', () => {
    const ac = structuredClone(ASSOCIATE_AC.pdu as AAssociateAcPdu);
    ac.userInformation = {};
    const read = readAssociateAc([], ac);
    assert.equal(read.contexts.size, 0);
    assert.equal(read.peerMaxPduLength, 0);
  });
});

describe('texts', () => {
  it('names reject triples', () => {
    assert.match(rejectText(1, 1, 7), /called AE title not recognised/);
    assert.match(rejectText(1, 1, 7), /permanent/);
    assert.match(rejectText(2, 3, 2), /local limit exceeded/);
    assert.match(rejectText(2, 3, 2), /transient/);
    assert.match(rejectText(1, 2, 2), /protocol version not supported/);
    assert.match(rejectText(1, 1, 2), /application context name not supported/);
    assert.match(rejectText(1, 1, 9), /reason 9/);
  });

  it('names abort reasons', () => {
    assert.match(abortText(2, 2), /unexpected PDU/);
    assert.match(abortText(2, 1), /unrecognised PDU/);
    assert.match(abortText(2, 6), /invalid PDU parameter value/);
    assert.match(abortText(0, 0), /service user/);
  });
});
