/**
 * The Device object (/3/0) from a friendly description, so that a flow
 * author writes `{ manufacturer: 'ACME' }` instead of resource ids.
 */
import type { Lwm2mVersion } from './content.js';

export interface DeviceInfo {
  manufacturer?: string;
  modelNumber?: string;
  serialNumber?: string;
  firmwareVersion?: string;
  deviceType?: string;
  hardwareVersion?: string;
  softwareVersion?: string;
  /** 0..100 %. */
  batteryLevel?: number;
  memoryFree?: number;
  utcOffset?: string;
  timezone?: string;
}

const DEVICE_RESOURCES: Readonly<Record<keyof DeviceInfo, number>> = {
  manufacturer: 0,
  modelNumber: 1,
  serialNumber: 2,
  firmwareVersion: 3,
  batteryLevel: 9,
  memoryFree: 10,
  utcOffset: 14,
  timezone: 15,
  deviceType: 17,
  hardwareVersion: 18,
  softwareVersion: 19,
};

/**
 * Values of /3/0: the description given, Error Code 0 ("no error"), and
 * Supported Binding and Modes (/3/0/16; "UQ" for a 1.0 device in queue mode).
 */
export function deviceValues(info: DeviceInfo, endpointName: string, version: Lwm2mVersion, queueMode: boolean): Record<number, unknown> {
  const values: Record<number, unknown> = {
    0: 'LwM2M toolkit for Node-RED',
    1: 'virtual device',
    2: endpointName,
    3: '1.0.0',
    11: { 0: 0 },
    16: version === '1.0' && queueMode ? 'UQ' : 'U',
  };
  for (const [key, rid] of Object.entries(DEVICE_RESOURCES)) {
    const v = info[key as keyof DeviceInfo];
    if (v !== undefined) values[rid] = v;
  }
  return values;
}
