/**
 * Cipher suites as transports take them in their options: by IANA name, in
 * order of preference.
 */
import { ALL_CIPHER_SUITES, type CipherSuite } from './cipher-suites.js';
import { DtlsConfigError } from './errors.js';

export type CipherSuiteName = 'TLS_PSK_WITH_AES_128_CCM_8' | 'TLS_PSK_WITH_AES_128_GCM_SHA256' | 'TLS_PSK_WITH_AES_128_CBC_SHA256';

export function resolveSuites(names: readonly CipherSuiteName[] | undefined): readonly CipherSuite[] {
  if (names === undefined) return ALL_CIPHER_SUITES;
  if (names.length === 0) throw new DtlsConfigError('cipherSuites must name at least one suite');
  return names.map((name) => {
    const suite = ALL_CIPHER_SUITES.find((s) => s.name === name);
    if (!suite) throw new DtlsConfigError(`unknown cipher suite ${String(name)}`);
    return suite;
  });
}
