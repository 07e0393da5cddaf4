/**
 * The part of the Node-RED runtime API these nodes use, typed by hand
 * (there is no maintained type package for Node-RED 4). Only what is
 * called here is declared; everything is as documented in "Creating
 * Nodes" of the Node-RED documentation.
 */

/** A message travelling through a flow. */
export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  topic?: string;
  [key: string]: unknown;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

/** The properties every node's configuration has, plus its own settings. */
export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export type SendFunction = (msg: NodeMessage | null | (NodeMessage | null)[]) => void;
export type DoneFunction = (err?: Error) => void;

/** A node instance (`this` inside a node constructor after createNode). */
export interface Node {
  readonly id: string;
  readonly type: string;
  readonly name?: string;
  readonly z?: string;
  /** Values of the credentials the node type declares (after createNode). */
  readonly credentials?: Readonly<Record<string, unknown>>;
  on(event: 'input', listener: (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void | Promise<void>): this;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): this;
  status(status: NodeStatus | Record<string, never>): void;
  send(msg: NodeMessage | null | (NodeMessage | null)[]): void;
  /** With a message, the error goes to Catch nodes of the flow. */
  error(error: unknown, msg?: NodeMessage): void;
  warn(message: unknown): void;
  log(message: unknown): void;
  debug(message: unknown): void;
}

export interface HttpRequest {
  params: Record<string, string>;
  query: Record<string, unknown>;
}

export interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
}

export type HttpHandler = (req: HttpRequest, res: HttpResponse, next: () => void) => void;

export interface NodeRedRuntime {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(type: string, constructor: (this: Node, def: NodeDef) => void, options?: object): void;
    getNode(id: string): Node | null;
  };
  settings: {
    userDir?: string;
    [key: string]: unknown;
  };
  httpAdmin: {
    get(path: string, ...handlers: HttpHandler[]): void;
  };
  auth: {
    needsPermission(permission: string): HttpHandler;
  };
  log: {
    info(message: unknown): void;
    warn(message: unknown): void;
    error(message: unknown): void;
    debug(message: unknown): void;
  };
  /** Message catalogue lookup, in this node set's namespace. */
  _(key: string, substitutions?: Record<string, unknown>): string;
}
