/**
 * From the PSK to the two record protections of epoch 1: premaster secret,
 * (extended) master secret, key block, split per direction.
 */
import { createProtection, keyBlockLength, splitKeyBlock, type CipherSuite, type RecordProtection } from './cipher-suites.js';
import { extendedMasterSecret, keyBlock, masterSecret, pskPremasterSecret } from './prf.js';

export interface NegotiatedParameters {
  suite: CipherSuite;
  clientRandom: Buffer;
  serverRandom: Buffer;
  extendedMasterSecret: boolean;
  encryptThenMac: boolean;
}

export interface ConnectionKeys {
  master: Buffer;
  clientWrite: RecordProtection;
  serverWrite: RecordProtection;
}

/** `sessionHash` is the transcript hash up to and including ClientKeyExchange (used with extended master secret). */
export function deriveKeys(params: NegotiatedParameters, psk: Buffer, sessionHash: Buffer): ConnectionKeys {
  const premaster = pskPremasterSecret(psk);
  const master = params.extendedMasterSecret
    ? extendedMasterSecret(premaster, sessionHash)
    : masterSecret(premaster, params.clientRandom, params.serverRandom);
  const block = keyBlock(master, params.clientRandom, params.serverRandom, keyBlockLength(params.suite));
  const { client, server } = splitKeyBlock(params.suite, block);
  return {
    master,
    clientWrite: createProtection(params.suite, client, params.encryptThenMac),
    serverWrite: createProtection(params.suite, server, params.encryptThenMac),
  };
}
