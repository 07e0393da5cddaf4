/**
 * Firmware updates from the server side (Firmware Update object /5):
 *
 *   const updater = new FirmwareUpdater(server, { coapBaseUri: 'coap://192.168.1.10:5683' });
 *   updater.on('progress', (p) => console.log(p.endpoint, p.percent));
 *   const outcome = await updater.update('dev1', { data: image, version: '2.0.0' });
 *   // { status: 'succeeded' | 'failed' | 'cancelled', reason, message, timings, ... }
 *
 *   const campaign = updater.campaign(['dev1', 'dev2', ...], image, { concurrency: 5 });
 *   const summary = await campaign.done;
 *
 * One job per device at a time (firmware-job.ts does the work); push
 * (Block1 to /5/0/0), pull (the server hosts the image, firmware-host.ts)
 * or 'auto' (the device's /5/0/9 and /5/0/8 decide). Every job ends with an
 * outcome; none rejects.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CoapCode, Lwm2mError } from '../errors.js';
import type { Lwm2mServer } from './lwm2m-server.js';
import { FirmwareCampaign, type CampaignOptions } from './firmware-campaign.js';
import { DeviceEventHub } from './firmware-events.js';
import { CoapImageHost, type HttpImageHost } from './firmware-host.js';
import { FirmwareJob } from './firmware-job.js';
import type { DeviceStatusEvent, FirmwareJobOptions, FirmwareOutcome, FirmwareProgress, JobPhase, PreparedImage } from './firmware-types.js';

export { FirmwareCampaign, type CampaignOptions, type CampaignSummary } from './firmware-campaign.js';
export { CoapImageHost, HttpImageHost, type CoapImageHostOptions, type HttpImageHostOptions } from './firmware-host.js';
export { FirmwareJob } from './firmware-job.js';
export {
  FirmwareJobError,
  type DeviceStatusEvent,
  type FirmwareJobOptions,
  type FirmwareOutcome,
  type FirmwareProgress,
  type FirmwareTimings,
  type JobPhase,
  type PreparedImage,
} from './firmware-types.js';
export { chooseDelivery, type Delivery, type DeliveryFacts } from './firmware-delivery.js';
export * from './firmware-results.js';

export interface FirmwareUpdaterOptions {
  /**
   * Where devices reach the server's CoAP endpoint, for pull:
   * "coap://192.168.1.10:5683". Without it the server's own address is used,
   * which only works when the server is bound to one address.
   */
  coapBaseUri?: string;
  /** Serves images over HTTP for devices that pull with HTTP (HttpImageHost.listen(...)). */
  http?: HttpImageHost;
  /** First path segment of hosted images (default "fw"). */
  pathPrefix?: string;
  /** Defaults for every job (each call may override them). */
  defaults?: FirmwareJobOptions;
}

/** The image: bytes, optionally with the firmware version it installs (checked against /3/0/3). */
export type FirmwareImageInput = Buffer | { data: Buffer; version?: string };

export interface FirmwareUpdaterEvents {
  started: [job: FirmwareJob];
  phase: [info: { jobId: string; endpoint: string; phase: JobPhase }];
  progress: [progress: FirmwareProgress];
  status: [status: DeviceStatusEvent];
  warning: [info: { jobId: string; endpoint: string; message: string }];
  done: [outcome: FirmwareOutcome];
}

export class FirmwareUpdater extends EventEmitter<FirmwareUpdaterEvents> {
  readonly coapHost: CoapImageHost;
  private readonly events: DeviceEventHub;
  private readonly jobsByEndpoint = new Map<string, FirmwareJob>();
  private readonly campaigns = new Set<FirmwareCampaign>();
  private readonly defaults: FirmwareJobOptions;

  constructor(readonly server: Lwm2mServer, private readonly options: FirmwareUpdaterOptions = {}) {
    super();
    this.coapHost = new CoapImageHost(server, {
      ...(options.coapBaseUri !== undefined ? { baseUri: options.coapBaseUri } : {}),
      ...(options.pathPrefix !== undefined ? { prefix: options.pathPrefix } : {}),
    });
    this.defaults = options.defaults ?? {};
    this.events = new DeviceEventHub(server);
  }

  /** Starts a job for one device; throws 4.09 when one is already running for it. */
  start(endpoint: string, image: FirmwareImageInput | PreparedImage, options: FirmwareJobOptions = {}): FirmwareJob {
    if (typeof endpoint !== 'string' || endpoint === '') throw new Lwm2mError(CoapCode.BadRequest, 'no endpoint name given');
    if (this.jobsByEndpoint.has(endpoint)) throw new Lwm2mError(CoapCode.Conflict, `a firmware update of ${endpoint} is already running`);
    const job = new FirmwareJob(
      { server: this.server, events: this.events, coapHost: this.coapHost, httpHost: this.options.http },
      endpoint,
      prepareImage(image),
      { ...this.defaults, ...options },
    );
    this.jobsByEndpoint.set(endpoint, job);
    job.on('phase', (phase) => this.emit('phase', { jobId: job.id, endpoint, phase }));
    job.on('progress', (p) => this.emit('progress', p));
    job.on('status', (s) => this.emit('status', s));
    job.on('warning', (message) => this.emit('warning', { jobId: job.id, endpoint, message }));
    void job.done.then((outcome) => {
      if (this.jobsByEndpoint.get(endpoint) === job) this.jobsByEndpoint.delete(endpoint);
      this.emit('done', outcome);
    });
    this.emit('started', job);
    return job;
  }

  /** Starts a job and resolves with its outcome. */
  update(endpoint: string, image: FirmwareImageInput | PreparedImage, options: FirmwareJobOptions = {}): Promise<FirmwareOutcome> {
    return this.start(endpoint, image, options).done;
  }

  /** The running job of a device. */
  job(endpoint: string): FirmwareJob | undefined {
    return this.jobsByEndpoint.get(endpoint);
  }

  jobs(): FirmwareJob[] {
    return [...this.jobsByEndpoint.values()];
  }

  /** Cancels the running job of a device (see FirmwareJob.cancel); 4.04 when there is none. */
  cancel(endpoint: string): Promise<FirmwareOutcome> {
    const job = this.jobsByEndpoint.get(endpoint);
    if (!job) return Promise.reject(new Lwm2mError(CoapCode.NotFound, `no firmware update of ${endpoint} is running`));
    return job.cancel();
  }

  /** One image to many devices, `concurrency` at a time (default 5). */
  campaign(endpoints: readonly string[], image: FirmwareImageInput | PreparedImage, options: CampaignOptions = {}): FirmwareCampaign {
    const prepared = prepareImage(image); // hashed once for every device
    const { concurrency, ...jobOptions } = options;
    const campaign = new FirmwareCampaign(endpoints, (endpoint) => this.start(endpoint, prepared, jobOptions), concurrency !== undefined ? { concurrency } : {});
    this.campaigns.add(campaign);
    void campaign.done.then(() => this.campaigns.delete(campaign));
    return campaign;
  }

  /**
   * Stops everything: campaigns start no more jobs, and every job stops
   * (a download is cancelled on the device; a device already installing is
   * left to finish, only no longer followed). Resolves when all jobs ended.
   */
  async close(): Promise<void> {
    const campaigns = [...this.campaigns].map((c) => c.cancel());
    const jobs = this.jobs();
    for (const job of jobs) job.stop('the firmware updater was closed');
    await Promise.all(jobs.map((job) => job.done));
    await Promise.all(campaigns);
  }
}

function isPrepared(image: FirmwareImageInput | PreparedImage): image is PreparedImage {
  return !Buffer.isBuffer(image) && typeof (image as PreparedImage).sha256 === 'string';
}

/** Checks the image and hashes it once. */
export function prepareImage(image: FirmwareImageInput | PreparedImage): PreparedImage {
  if (isPrepared(image)) return image;
  const data = Buffer.isBuffer(image) ? image : image?.data;
  if (!Buffer.isBuffer(data)) throw new Lwm2mError(CoapCode.BadRequest, 'the firmware image must be a Buffer');
  if (data.length === 0) throw new Lwm2mError(CoapCode.BadRequest, 'the firmware image is empty');
  const sha256 = createHash('sha256').update(data).digest('hex');
  const version = Buffer.isBuffer(image) ? undefined : image.version;
  return version !== undefined ? { data, sha256, version } : { data, sha256 };
}
