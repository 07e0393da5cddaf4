/** The LwM2M client engine: what the Node-RED layer and library users import. */
export { Lwm2mClient, type Lwm2mClientOptions, type Lwm2mClientEvents, type ClientBootstrapOptions, type SendOptions, type ServerEventInfo } from './client.js';
export type { SendValue } from './send.js';
export type { ServerConfig, ServerAccount, BootstrapAccountConfig, BootstrapAccount } from './accounts.js';
export type { BootstrapState, BootstrapTrigger, BootstrapMode, BootstrapStarted, BootstrapResult, BootstrapFailure, BootstrapRefusal } from './bootstrap.js';
export { checkConfiguration, type ConfigurationCheck } from './bootstrap-check.js';
export { fileProvisioningStore, type ProvisioningStore, type ProvisioningState } from './bootstrap-store.js';
export { ManualClock, systemClock, type Clock, type ClockTimer } from './clock.js';
export type { Lwm2mVersion } from './content.js';
export type { DeviceInfo } from './device.js';
export { FirmwareState, UpdateResult, type FirmwareHooks, type FirmwareOptions, type FirmwareStatus, type FirmwareStateValue, type UpdateResultValue, type VerifyVerdict } from './firmware.js';
export { ObjectTree, type TreeSnapshot, type ReadHandler, type WriteHandler, type ExecuteHandler, type HandlerContext, type Origin, type OperationContext } from './object-tree.js';
export type { RegistrationInfo, RegistrationFailure, SessionState } from './registration.js';
export { updateDelayMs, retryDelayMs, DEFAULT_RETRY, type RetryPolicy } from './timing.js';
export { isQualifyingChange, NotifyScheduler, type Sample } from './notify-rules.js';
