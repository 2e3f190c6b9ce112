/**
 * Association negotiation as pure functions: what the acceptor answers to an A-ASSOCIATE-RQ,
 * and what the requestor reads from an A-ASSOCIATE-AC (PS3.8 §9.3.2–9.3.4; PS3.7 Annex
 * D.3.3); the reject and abort texts are in reasons.ts. Modelled on pynetdicom's
 * presentation.py, kept free of sockets and timers so every case is a unit test.
 */
import type { AcceptedContext } from './primitives.js';
import { DICOM_APPLICATION_CONTEXT } from './pdu.js';
import type { AAssociateAcPdu, AAssociateRqPdu, PresentationContextAcItem, PresentationContextRqItem } from './pdu.js';
import type { RoleSelectionItem } from './pdu-items.js';

/** Result, source and reason/diag of an A-ASSOCIATE-RJ. PS3.8 §9.3.4, Table 9-21. */
export interface RejectTriple {
  result: number;
  source: number;
  reason: number;
}

/** Presentation context results of an A-ASSOCIATE-AC. PS3.8 §9.3.3.2, Table 9-18. */
export const CONTEXT_RESULT = {
  ACCEPTANCE: 0,
  USER_REJECTION: 1,
  NO_REASON: 2,
  ABSTRACT_SYNTAX_NOT_SUPPORTED: 3,
  TRANSFER_SYNTAXES_NOT_SUPPORTED: 4,
} as const;

/** The acceptor's answer for one proposed presentation context. */
export interface ContextDecision {
  result: 0 | 1 | 2 | 3 | 4;
  /** The chosen transfer syntax when result is 0; must be one of those proposed. */
  transferSyntax?: string;
}

/** What the acceptor needs to answer an A-ASSOCIATE-RQ. */
export interface AcceptorPolicy {
  /** Called AE title we answer to; null or '' = any. */
  aeTitle: string | null;
  /** Our maximum P-DATA-TF variable-field length, announced in the AC. PS3.8 Annex D.1. */
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersionName: string;
  acceptContext(abstractSyntax: string, transferSyntaxes: readonly string[]): ContextDecision;
}

/** Reject: called AE title not recognised (permanent, service user, 7). PS3.8 Table 9-21. */
export const REJECT_CALLED_AET: RejectTriple = { result: 1, source: 1, reason: 7 };
/** Reject: calling AE title not recognised (permanent, service user, 3): an unknown peer. */
export const REJECT_CALLING_AET: RejectTriple = { result: 1, source: 1, reason: 3 };
/** Reject: application context name not supported (permanent, service user, 2). */
export const REJECT_APPLICATION_CONTEXT: RejectTriple = { result: 1, source: 1, reason: 2 };
/** Reject: protocol version not supported (permanent, provider ACSE, 2). */
export const REJECT_PROTOCOL_VERSION: RejectTriple = { result: 1, source: 2, reason: 2 };
/** Reject: local limit exceeded (transient, provider presentation, 2). */
export const REJECT_LOCAL_LIMIT: RejectTriple = { result: 2, source: 3, reason: 2 };
/** Reject: no reason given (permanent, service user, 1), used when no context is acceptable. */
export const REJECT_NO_REASON: RejectTriple = { result: 1, source: 1, reason: 1 };

/**
 * The association-level checks of an A-ASSOCIATE-RQ, in this order: protocol version (bit 0
 * must be set), application context name, called AE title (when `aeTitle` is set; compared
 * after trimming spaces). Null when all pass. PS3.8 §9.3.2 and Table 9-21.
 */
export function checkAssociateRq(rq: AAssociateRqPdu, policy: Pick<AcceptorPolicy, 'aeTitle'>): RejectTriple | null {
  if ((rq.protocolVersion & 1) === 0) return REJECT_PROTOCOL_VERSION;
  if (rq.applicationContextName !== DICOM_APPLICATION_CONTEXT) return REJECT_APPLICATION_CONTEXT;
  const ours = (policy.aeTitle ?? '').trim();
  if (ours !== '' && rq.calledAeTitle.trim() !== ours) return REJECT_CALLED_AET;
  return null;
}

/** The AC presentation context for one proposal, per the policy's decision. PS3.8 Table 9-18. */
export function negotiateContext(
  pc: PresentationContextRqItem,
  policy: Pick<AcceptorPolicy, 'acceptContext'>,
): PresentationContextAcItem {
  // The transfer syntax field of a rejected context is not significant, but the sub-item must be
  // present; echoing a proposed one keeps strict peers happy.
  const fallbackTs = pc.transferSyntaxes[0] ?? '1.2.840.10008.1.2';
  if (pc.transferSyntaxes.length === 0) {
    return { pcId: pc.pcId, result: CONTEXT_RESULT.TRANSFER_SYNTAXES_NOT_SUPPORTED, transferSyntax: fallbackTs };
  }
  const decision = policy.acceptContext(pc.abstractSyntax, pc.transferSyntaxes);
  if (decision.result !== CONTEXT_RESULT.ACCEPTANCE) {
    return { pcId: pc.pcId, result: decision.result, transferSyntax: fallbackTs };
  }
  const ts = decision.transferSyntax ?? pc.transferSyntaxes[0];
  if (!pc.transferSyntaxes.includes(ts)) {
    return { pcId: pc.pcId, result: CONTEXT_RESULT.TRANSFER_SYNTAXES_NOT_SUPPORTED, transferSyntax: fallbackTs };
  }
  return { pcId: pc.pcId, result: CONTEXT_RESULT.ACCEPTANCE, transferSyntax: ts };
}

/** The acceptor's outcome: an AC with its accepted contexts, or a reject triple. */
export type AcceptorOutcome =
  | { accepted: true; ac: AAssociateAcPdu; contexts: AcceptedContext[] }
  | { accepted: false; reject: RejectTriple };

/**
 * Answers an A-ASSOCIATE-RQ that passed {@link checkAssociateRq}: per-context results, our
 * maximum length, implementation class UID and version name, and role selection answered
 * (SCU role as proposed, SCP role 0: we never act as SCU toward the requestor on its own
 * association). A request where no context is acceptable is rejected with
 * {@link REJECT_NO_REASON}, since such an association could carry nothing.
 * PS3.8 §9.3.3; PS3.7 §D.3.3.4.
 */
export function negotiateAsAcceptor(rq: AAssociateRqPdu, policy: AcceptorPolicy): AcceptorOutcome {
  const acContexts = rq.presentationContexts.map((pc) => negotiateContext(pc, policy));
  const contexts: AcceptedContext[] = [];
  acContexts.forEach((ac, i) => {
    if (ac.result === CONTEXT_RESULT.ACCEPTANCE) {
      contexts.push({ pcId: ac.pcId, abstractSyntax: rq.presentationContexts[i].abstractSyntax, transferSyntax: ac.transferSyntax });
    }
  });
  if (contexts.length === 0) return { accepted: false, reject: REJECT_NO_REASON };
  const roles: RoleSelectionItem[] = (rq.userInformation.roleSelections ?? []).map((role) => ({
    sopClassUid: role.sopClassUid,
    scuRole: role.scuRole,
    scpRole: 0,
  }));
  const ac: AAssociateAcPdu = {
    type: 'A-ASSOCIATE-AC',
    protocolVersion: 1,
    calledAeTitle: rq.calledAeTitle,
    callingAeTitle: rq.callingAeTitle,
    applicationContextName: DICOM_APPLICATION_CONTEXT,
    presentationContexts: acContexts,
    userInformation: {
      maxPduLength: policy.maxPduLength,
      implementationClassUid: policy.implementationClassUid,
      ...(roles.length > 0 ? { roleSelections: roles } : {}),
      implementationVersionName: policy.implementationVersionName,
    },
  };
  return { accepted: true, ac, contexts };
}

/**
 * The requestor's reading of an A-ASSOCIATE-AC: the contexts accepted among those proposed
 * (an AC context ID we never proposed is ignored) and the peer's maximum P-DATA-TF length
 * (0 = no limit, also when the sub-item is missing). PS3.8 §9.3.3, Annex D.1.
 */
export function readAssociateAc(
  proposed: readonly PresentationContextRqItem[],
  ac: AAssociateAcPdu,
): { contexts: Map<number, AcceptedContext>; peerMaxPduLength: number } {
  const byId = new Map(proposed.map((pc) => [pc.pcId, pc]));
  const contexts = new Map<number, AcceptedContext>();
  for (const pc of ac.presentationContexts) {
    const mine = byId.get(pc.pcId);
    if (mine === undefined || pc.result !== CONTEXT_RESULT.ACCEPTANCE) continue;
    contexts.set(pc.pcId, { pcId: pc.pcId, abstractSyntax: mine.abstractSyntax, transferSyntax: pc.transferSyntax });
  }
  return { contexts, peerMaxPduLength: ac.userInformation.maxPduLength ?? 0 };
}

/** Re-exported: the texts live in reasons.ts. */
