/**
 * The acceptor's monitoring counts (AcceptorStats): accepted, rejected by reason, and how
 * accepted associations ended, through real sockets on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AssociationRejectedError } from '../../../../src/dicom/errors.js';
import { createAcceptor, rejectReasonKey, type Acceptor } from '../../../../src/dicom/ul/acceptor.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import type { CloseReason } from '../../../../src/dicom/ul/primitives.js';
import { requestAssociation, type RequestorOptions } from '../../../../src/dicom/ul/requestor.js';
import { IMPLICIT_LE, testAcceptorOptions, VERIFICATION } from '../../../support/test-acceptor.js';


function options(port: number, overrides: Partial<RequestorOptions> = {}): RequestorOptions {
  return {
    host: '127.0.0.1',
    port,
    callingAeTitle: 'TESTSCU',
    calledAeTitle: 'STATS-SCP',
    contexts: [{ pcId: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
    maxPduLength: 16384,
    connectTimeoutMs: 5000,
    artimTimeoutMs: 5000,
    log: noopLogger,
    ...overrides,
  };
}

describe('acceptor stats', () => {
  const ended: Array<Promise<CloseReason>> = [];
  const acceptor: Acceptor = createAcceptor({
    ...testAcceptorOptions(),
    aeTitle: 'STATS-SCP',
    maxAssociations: 1,
    onAssociation: () => {
      let resolve!: (reason: CloseReason) => void;
      ended.push(new Promise((r) => (resolve = r)));
      return { onPData: () => undefined, onClose: (reason) => resolve(reason) };
    },
    log: noopLogger,
  });
  after(() => acceptor.close());

  it('starts at zero', () => {
    assert.deepEqual(acceptor.stats, { accepted: 0, rejected: {}, ended: { released: 0, aborted: 0, closed: 0 }, connectionsRefused: 0, refused: {} });
  });

  it('counts accepted, rejected by reason, released and aborted associations', async () => {
    const { port } = await acceptor.listen(0, '127.0.0.1');

    const first = await requestAssociation(options(port));
    assert.equal(acceptor.stats.accepted, 1);
    // Past maxAssociations (1): transient rejection, local limit exceeded (2, 3, 2).
    await assert.rejects(requestAssociation(options(port)), (err: unknown) => {
      assert.ok(err instanceof AssociationRejectedError);
      assert.deepEqual([err.result, err.source, err.reason], [2, 3, 2]);
      return true;
    });
    await first.release();
    assert.equal(await ended[0], 'released');

    await assert.rejects(requestAssociation(options(port, { calledAeTitle: 'SOMEONE-ELSE' })), AssociationRejectedError);
    // Nothing acceptable proposed: rejected with "no reason given" (1, 1, 1).
    await assert.rejects(requestAssociation(options(port, { contexts: [{ pcId: 1, abstractSyntax: '1.2.3.4', transferSyntaxes: [IMPLICIT_LE] }] })), AssociationRejectedError);

    const second = await requestAssociation(options(port));
    second.abort();
    await second.closed;
    assert.equal(await ended[1], 'aborted');

    const stats = acceptor.stats;
    assert.equal(stats.accepted, 2);
    assert.deepEqual(stats.rejected, { 'local-limit-exceeded': 1, 'called-ae-title-not-recognised': 1, 'no-reason-given': 1 });
    assert.deepEqual(stats.ended, { released: 1, aborted: 1, closed: 0 });
  });

  it('hands out copies: changing one does not change the counts', () => {
    const copy = acceptor.stats;
    copy.rejected['local-limit-exceeded'] = 99;
    copy.ended.aborted = 99;
    assert.equal(acceptor.stats.rejected['local-limit-exceeded'], 1);
    assert.equal(acceptor.stats.ended.aborted, 1);
  });

  it('names the reject reasons of PS3.8 Table 9-21, and others by their numbers', () => {
    assert.equal(rejectReasonKey({ result: 2, source: 3, reason: 2 }), 'local-limit-exceeded');
    assert.equal(rejectReasonKey({ result: 2, source: 3, reason: 1 }), 'temporary-congestion');
    assert.equal(rejectReasonKey({ result: 1, source: 1, reason: 9 }), 'result-1-source-1-reason-9');
  });
});
