/**
 * The numbers of the Firmware Update object (/5/0) that both sides speak:
 * State (/5/0/3) and Update Result (/5/0/5). One definition, so the client
 * that sets them and the server that reads them cannot drift apart.
 */

/** State resource /5/0/3. */
export const FirmwareState = { idle: 0, downloading: 1, downloaded: 2, updating: 3 } as const;
export type FirmwareStateValue = (typeof FirmwareState)[keyof typeof FirmwareState];

/** Update Result resource /5/0/5 (object 5 v1.0 defines 0..9, v1.1 adds 10 and 11). */
export const UpdateResult = {
  initial: 0,
  success: 1,
  notEnoughFlash: 2,
  outOfRam: 3,
  connectionLost: 4,
  integrityFailure: 5,
  unsupportedPackageType: 6,
  invalidUri: 7,
  updateFailed: 8,
  unsupportedProtocol: 9,
  cancelled: 10,
  deferred: 11,
} as const;
export type UpdateResultValue = (typeof UpdateResult)[keyof typeof UpdateResult];
