/**
 * Names for what the Firmware Update object (/5/0) reports, and for every
 * way a firmware job can end. Devices speak in numbers (State /5/0/3,
 * Update Result /5/0/5); flows and logs get names.
 */

import { FirmwareState, UpdateResult } from '../model/firmware-object.js';

export { FirmwareState, UpdateResult };

const STATE_NAMES: Readonly<Record<number, string>> = {
  0: 'idle',
  1: 'downloading',
  2: 'downloaded',
  3: 'updating',
};

/** Names of the Update Result values; each failure value is also a failure reason. */
export const RESULT_NAMES = {
  0: 'initial',
  1: 'success',
  2: 'not-enough-flash',
  3: 'out-of-ram',
  4: 'connection-lost',
  5: 'integrity-check-failure',
  6: 'unsupported-package-type',
  7: 'invalid-uri',
  8: 'update-failed',
  9: 'unsupported-protocol',
  10: 'cancelled',
  11: 'deferred',
} as const;

export type ResultName = (typeof RESULT_NAMES)[keyof typeof RESULT_NAMES];

/** Update Result values that end a job as a failure reported by the device. */
export type DeviceFailureReason = Exclude<ResultName, 'initial' | 'success' | 'deferred'>;

/**
 * Why a job failed when the device did not say so through Update Result:
 * - not-registered: no registration for the endpoint name;
 * - no-firmware-object: the device did not register /5;
 * - device-busy: the device is already downloading or updating (use `force` to reset a download);
 * - no-delivery-method: neither push nor a pull protocol both sides support;
 * - unsupported-protocol-choice: the pull protocol asked for is not in /5/0/8;
 * - configuration: a pull needs a package URI base the devices can reach;
 * - write-refused / execute-refused: the device answered an error code;
 * - unreachable: the device stopped answering during a download or before Update;
 * - download-timeout / update-timeout / reboot-timeout: a phase took too long;
 * - left-during-download: the device de-registered, expired or registered anew (Idle) during the download;
 * - result-lost: the device came back Idle without any Update Result;
 * - version-mismatch: the device reports another firmware version than expected;
 * - cancelled: cancelled through the API;
 * - error: anything else (the message says what).
 */
export type JobFailureReason =
  | 'not-registered'
  | 'no-firmware-object'
  | 'device-busy'
  | 'no-delivery-method'
  | 'unsupported-protocol-choice'
  | 'configuration'
  | 'write-refused'
  | 'execute-refused'
  | 'unreachable'
  | 'download-timeout'
  | 'update-timeout'
  | 'reboot-timeout'
  | 'left-during-download'
  | 'result-lost'
  | 'version-mismatch'
  | 'cancelled'
  | 'error';

export type FailureReason = DeviceFailureReason | JobFailureReason;

export function stateName(state: number | undefined): string {
  if (state === undefined) return 'unknown';
  return STATE_NAMES[state] ?? `state ${state}`;
}

export function resultName(result: number | undefined): string {
  if (result === undefined) return 'unknown';
  return (RESULT_NAMES as Readonly<Record<number, string>>)[result] ?? `result ${result}`;
}

/** True for the Update Result values that mean the download or the update failed. */
export function isFailureResult(result: number | undefined): result is 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 {
  return result !== undefined && result >= UpdateResult.notEnoughFlash && result <= UpdateResult.cancelled;
}

/** The failure reason of a failure Update Result value. */
export function failureOfResult(result: 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10): DeviceFailureReason {
  return RESULT_NAMES[result];
}

/** Protocols of /5/0/8 (Firmware Update Protocol Support). */
export const PullProtocol = { coap: 0, coaps: 1, http: 2, https: 3, coapTcp: 4, coapTls: 5 } as const;

/** Delivery methods of /5/0/9. */
export const DeliveryMethod = { pull: 0, push: 1, both: 2 } as const;
