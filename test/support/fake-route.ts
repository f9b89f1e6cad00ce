import type { IncomingMessage, ServerResponse } from 'node:http';

/** A route added by a later fake (batch mode): `match` gets the path without query; return true if handled. */
export interface FakeRoute {
  method: string;
  path: RegExp;
  /** When given, the route answers only requests whose parsed body it accepts. */
  accepts?: (body: unknown) => boolean;
  handle(ctx: {
    req: IncomingMessage;
    res: ServerResponse;
    match: RegExpExecArray;
    body: unknown;
  }): Promise<void> | void;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON answer with the content type Google's API servers send (`application/json; charset=UTF-8`). */
export function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
